/**
 * Engine.IO long-polling across `--workers`: the kernel gives each TCP connection to any
 * worker, but a polling session lives in the one worker that answered its handshake. Its sid
 * starts with that worker's index (`2.` + 20 random base64url chars), and every worker also
 * serves a private unix socket, `<dir>/<index>.sock`; a worker that gets a polling request for
 * another worker's sid passes it there and streams the owner's answer back.
 *
 * Why a unix socket and not 127.0.0.1:0: the supervisor creates `<dir>` with mkdtemp (mode
 * 0700), so the kernel keeps every other user out before a byte is read, no port can be taken
 * or probed by another local process, and the address is known from the index alone (a
 * restarted worker binds the same path, no table to broadcast). Each forward also carries the
 * per-run token the supervisor handed to its workers, checked in constant time: a second lock
 * should the directory's mode ever be loosened (e.g. a shared TMPDIR mount).
 */
import type { Server } from "bun";
import { rmSync } from "node:fs";
import { secretMatches } from "../../auth/secret.ts";
import { json, readBytes } from "../../server/http.ts";
import type { Logger } from "../../ops/log.ts";
import { engineError } from "./polling.ts";
import { connectRelay, listenRelays, type RelayEnd, type RelayPipe } from "./worker-relay.ts";

/** Environment the supervisor gives each worker (see commands/workers.ts). */
export const LINK_ENV = { index: "WS_EMIT_WORKER", dir: "WS_EMIT_WORKER_DIR", token: "WS_EMIT_WORKER_TOKEN" } as const;
const TOKEN_HEADER = "x-ws-emit-forward";
/** What of the owner's answer reaches the client (hop-by-hop and length headers are Bun's business). */
const PASSED_HEADERS = ["content-type", "cache-control"];
const OWNER = /^(\d{1,4})\./;
/**
 * The owner holds a long-poll GET until its ping interval. On a unix socket Bun ignores
 * `server.timeout(req, 0)` and cuts the request at the 10 s default (checked on Bun 1.4.5),
 * while the `idleTimeout` option works; bun-types leave it out for unix sockets, hence the cast.
 * The only peers are our own workers.
 */
const NO_IDLE_TIMEOUT = { idleTimeout: 0 } as object;

export interface WorkerLink {
  /** Prefix of the sids this worker creates. */
  readonly sidPrefix: string;
  /** Index of the worker that owns `sid`, or null when it is this one (or not a worker sid). */
  ownerOf(sid: string): string | null;
  /** Pass a polling GET/POST to the worker that owns its session; resolves with that worker's answer. */
  forward(owner: string, req: Request, url: URL, maxBodyBytes: number): Promise<Response>;
  /** Serve forwarded requests (token already checked) on this worker's private socket. */
  listen(handle: (req: Request, url: URL, srv: Server<undefined>) => Response | Promise<Response>, maxBodyBytes: number): void;
  /** Relay a WebSocket for `owner`'s session `sid` (./worker-relay.ts): frames both ways. */
  relayTo(owner: string, sid: string, maxFrame: number, end: RelayEnd): RelayPipe;
  /** Take relays of this worker's sessions from the other workers. */
  acceptRelays(maxFrame: number, accept: (sid: string, pipe: RelayPipe) => RelayEnd | null): void;
  /** Path of this worker's private socket (for logs and tests). */
  readonly socketPath: string;
  close(): void;
}

/** The link for a worker started by the supervisor, or null in single-process mode. */
export function workerLinkFromEnv(log: Logger, env: NodeJS.ProcessEnv = process.env): WorkerLink | null {
  const self = env[LINK_ENV.index];
  const dir = env[LINK_ENV.dir];
  const token = env[LINK_ENV.token];
  if (!self || !dir || !token) return null;
  // Children of this worker (none today) must not inherit the token.
  delete env[LINK_ENV.token];
  return createWorkerLink(self, dir, token, log);
}

export function createWorkerLink(self: string, dir: string, token: string, log: Logger): WorkerLink {
  const pathOf = (index: string) => `${dir}/${index}.sock`;
  const socketPath = pathOf(self);
  let server: Server<undefined> | null = null;
  let relays: { close(): void } | null = null;

  return {
    sidPrefix: `${self}.`,
    socketPath,
    ownerOf(sid) {
      const m = OWNER.exec(sid);
      return m && m[1] !== self ? m[1]! : null;
    },

    async forward(owner, req, url, maxBodyBytes) {
      // Bounded here: the public listener's maxRequestBodySize is only a backstop.
      const body = req.method === "POST" ? await readBytes(req, maxBodyBytes) : undefined;
      const headers: Record<string, string> = { [TOKEN_HEADER]: token };
      const ct = req.headers.get("content-type");
      if (ct) headers["content-type"] = ct;
      try {
        // The client's abort aborts this fetch, which closes the owner's request: the owner
        // then ends the session exactly as if the client had left it directly.
        const res = await fetch(`http://worker-${owner}${url.pathname}${url.search}`, {
          method: req.method,
          headers,
          body,
          unix: pathOf(owner),
          signal: req.signal,
          redirect: "manual",
          decompress: false,
        });
        const out = new Headers();
        for (const h of PASSED_HEADERS) {
          const v = res.headers.get(h);
          if (v !== null) out.set(h, v);
        }
        return new Response(res.body, { status: res.status, headers: out });
      } catch (e) {
        if (req.signal.aborted) return new Response(null, { status: 499 }); // nobody is listening any more
        // The owner crashed or is restarting: its sessions are gone, so the client must start over.
        log.debug(`socket.io: cannot reach worker ${owner} for ${url.searchParams.get("sid")}: ${(e as Error).message}`);
        return engineError(1);
      }
    },

    listen(handle, maxBodyBytes) {
      // A worker killed with SIGKILL leaves its socket file behind; the restarted one takes its place.
      rmSync(socketPath, { force: true });
      server = Bun.serve<undefined>({
        unix: socketPath,
        development: false,
        ...NO_IDLE_TIMEOUT,
        maxRequestBodySize: maxBodyBytes,
        fetch(req, srv) {
          if (!secretMatches(req.headers.get(TOKEN_HEADER), token)) {
            log.warn("refused a request on the private worker socket without the right token");
            return json({ error: "forbidden", message: "not a forwarded request from a ws-emit worker of this run" }, 403);
          }
          return handle(req, new URL(req.url), srv);
        },
        error(e) {
          log.error("forwarded request failed", e);
          return json({ error: "internal", message: "internal server error" }, 500);
        },
      });
    },

    relayTo: (owner, sid, maxFrame, end) => connectRelay(dir, owner, token, sid, maxFrame, end),
    acceptRelays(maxFrame, accept) {
      relays = listenRelays(dir, self, token, maxFrame, log, accept);
    },

    close() {
      server?.stop(true);
      server = null;
      relays?.close();
      relays = null;
    },
  };
}
