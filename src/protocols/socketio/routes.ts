/**
 * Socket.IO at /socket.io/: the Engine.IO handshake and dispatch to polling or WebSocket,
 * plus the browser client bundle at /socket.io/socket.io(.min).js as the official server
 * serves it. The bundle is imported as text so it is embedded in the compiled binary.
 */
import clientPkg from "socket.io-client/package.json" with { type: "json" };
import clientFull from "../../../node_modules/socket.io-client/dist/socket.io.js" with { type: "text" };
import clientMin from "../../../node_modules/socket.io-client/dist/socket.io.min.js" with { type: "text" };
import { createConn } from "../../core/connection.ts";
import type { Ctx, WsProtocol } from "../../server/context.ts";
import { refuseWhenFull } from "../../server/admission.ts";
import { HttpError } from "../../core/errors.ts";
import type { WorkerLink } from "./worker-forward.ts";
import { createSessions, type Session, type Sessions, type SioWsState } from "./session.ts";
import { engineError, payload, pollGet, pollPost } from "./polling.ts";
import { createEngineWsProtocol } from "./ws.ts";
import { createRelayWsProtocol, type RelayWsState } from "./relay-ws.ts";
import { createSioHandler } from "./handler.ts";
import { encodeOpen, type Handshake } from "./codec.ts";

const BUNDLES: Record<string, string> = {
  "/socket.io/socket.io.min.js": clientMin,
  "/socket.io/socket.io.js": clientFull,
};
const BUNDLE_ETAG = `"socket.io-client-${clientPkg.version}"`;

type Timeouts = { timeout(req: Request, seconds: number): void };
type Route = (ctx: Ctx, req: Request, url: URL, ip: string) => Promise<Response | undefined | null> | Response | undefined | null;

export interface SocketIo {
  /** Build the sessions once the server context exists (pass to startServer's `extra`). */
  attach(ctx: Ctx): void;
  /** The /socket.io/ route for `Deps.routes`. */
  route: Route;
  /** Serve a polling request forwarded by another worker (see engineio-forward.ts). */
  forwarded(req: Request, url: URL, srv: Timeouts): Response | Promise<Response>;
  /** Open Engine.IO sessions (both transports). */
  readonly sessions: number;
}

/** `link`: set in a worker under --workers, so polling sessions work whichever worker a request reaches. */
export function createSocketIo(link: WorkerLink | null = null): SocketIo {
  let attached: Ctx | undefined;
  let sessions: Sessions | undefined;
  let proto: WsProtocol | undefined;
  let relayProto: WsProtocol | undefined;
  let handshake: (sid: string, upgrades: string[]) => Handshake = () => {
    throw new Error("socket.io not attached");
  };

  function serveBundle(req: Request, text: string): Response {
    const headers = { "Content-Type": "application/javascript; charset=utf-8", ETag: BUNDLE_ETAG, "Cache-Control": "public, max-age=0" };
    if (req.headers.get("if-none-match") === BUNDLE_ETAG) return new Response(null, { status: 304, headers });
    return new Response(req.method === "HEAD" ? null : text, { headers });
  }

  function open(ctx: Ctx, req: Request, transport: "polling" | "websocket", ip: string): Response | undefined {
    if (req.method !== "GET") return engineError(2);
    refuseWhenFull(ctx);
    const conn = createConn(transport === "polling" ? "polling" : "socketio", ip, ctx.config);
    if (transport === "polling") {
      const s = sessions!.open(conn, null);
      return payload(encodeOpen(handshake(s.id, ["websocket"])));
    }
    const state: SioWsState = { role: "main", session: null };
    if (!ctx.server().upgrade(req, { data: { conn, proto: proto!, state } })) return engineError(3);
    return undefined;
  }

  const route: Route = (ctx, req, url, ip) => {
    const path = url.pathname;
    if (path !== "/socket.io" && !path.startsWith("/socket.io/")) return null;
    const bundle = BUNDLES[path];
    if (bundle !== undefined) {
      if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "method_not_allowed", "use GET", { Allow: "GET, HEAD" });
      return serveBundle(req, bundle);
    }
    if (path !== "/socket.io/" && path !== "/socket.io") throw new HttpError(404, "not_found", `no route for ${req.method} ${path}`);
    const q = url.searchParams;
    if (q.get("EIO") !== "4")
      return engineError(5, { hint: "ws-emit speaks Engine.IO 4 (socket.io-client 3.x and 4.x); socket.io-client 2.x is not supported" });
    const transport = q.get("transport");
    if (transport !== "polling" && transport !== "websocket") return engineError(0);
    const sid = q.get("sid");
    if (sid === null) return open(ctx, req, transport, ip);
    const s = sessions!.get(sid);
    if (!s && link) {
      const owner = link.ownerOf(sid);
      if (owner !== null) {
        if (transport === "polling") {
          // The forwarded GET waits as long as the owner's; Bun's idle timer must not cut it first.
          if (req.method === "GET") ctx.server().timeout(req, 0);
          ctx.metrics.inc("ws_emit_sio_forwards_total", { method: req.method });
          return link.forward(owner, req, url, ctx.config.sioMaxHttpBufferBytes);
        }
        // A WebSocket cannot be handed to another process: accept it here and relay its frames
        // to the owner, which runs the probe and keeps the session (./worker-relay.ts).
        if (ctx.state.draining) return engineError(3, { hint: "this worker is shutting down; keep polling" });
        const state: RelayWsState = { owner, sid, pipe: null };
        if (!ctx.server().upgrade(req, { data: { conn: createConn("socketio", ip, ctx.config), proto: relayProto!, state } })) return engineError(3);
        ctx.metrics.inc("ws_emit_sio_forwards_total", { method: "websocket" });
        return undefined;
      }
    }
    return onSession(ctx, req, transport, sid, s, ctx.server());
  };

  /** A request for an existing (or just closed) session of this worker. */
  function onSession(ctx: Ctx, req: Request, transport: "polling" | "websocket", sid: string, s: Session | undefined, srv: Timeouts) {
    if (!s) {
      const last = transport === "polling" && req.method === "GET" ? sessions!.takeTombstone(sid) : undefined;
      return last !== undefined ? payload(last) : engineError(1);
    }
    if (transport === "polling") {
      if (s.transport !== "polling") return engineError(3);
      if (req.method === "GET") return pollGet(ctx, sessions!, s, req, srv);
      if (req.method === "POST") return pollPost(ctx, sessions!, s, req);
      return engineError(3);
    }
    // An upgrade probe for a polling session.
    if (s.transport !== "polling" || s.probe) return engineError(3);
    const state: SioWsState = { role: "probe", session: s };
    if (!ctx.server().upgrade(req, { data: { conn: s.conn, proto: proto!, state } })) return engineError(3);
    return undefined;
  }

  /** A polling request another worker passed on (its Origin and limits were checked there). */
  function forwarded(req: Request, url: URL, srv: Timeouts): Response | Promise<Response> {
    const q = url.searchParams;
    const sid = q.get("sid");
    if (!attached || (url.pathname !== "/socket.io/" && url.pathname !== "/socket.io") || q.get("EIO") !== "4" || q.get("transport") !== "polling" || sid === null) return engineError(3);
    return onSession(attached, req, "polling", sid, sessions!.get(sid), srv) as Response | Promise<Response>;
  }

  return {
    attach(ctx) {
      attached = ctx;
      const handler = createSioHandler(ctx, () => sessions!);
      sessions = createSessions(ctx, handler.message, handler.badPacket, link?.sidPrefix);
      proto = createEngineWsProtocol(() => sessions!, (sid, upgrades) => handshake(sid, upgrades), handler.badPacket);
      if (link) {
        const maxFrame = Math.max(ctx.config.sioMaxHttpBufferBytes, ctx.config.maxMessageBytes) + 1024;
        relayProto = createRelayWsProtocol(ctx, link, maxFrame);
        // The owner's side: a relayed WebSocket probes and upgrades one of our polling sessions.
        link.acceptRelays(maxFrame, (sid, pipe) => {
          const s = sessions!.get(sid);
          if (!s || s.closed || s.transport !== "polling" || s.probe) return null;
          const ws = sessions!.beginRelayProbe(s, pipe);
          return {
            message(d) {
              if (typeof d !== "string") return handler.badPacket(s, "binary frames are not supported");
              sessions!.packet(s, d, ws);
            },
            closed() {
              if (s.probe === ws) sessions!.abortProbe(s, ws);
              else if (s.ws === ws) sessions!.close(s, "transport closed");
            },
          };
        });
      }
      handshake = (sid, upgrades) => ({
        sid,
        upgrades,
        pingInterval: ctx.config.sioPingIntervalMs,
        pingTimeout: ctx.config.sioPingTimeoutMs,
        // What every transport takes: a WebSocket frame is capped by --max-message too.
        maxPayload: Math.min(ctx.config.sioMaxHttpBufferBytes, ctx.config.maxMessageBytes),
      });
    },
    route,
    forwarded,
    get sessions() {
      return sessions?.size ?? 0;
    },
  };
}
