/**
 * The servers the bench measures: how to check what each needs, start it on loopback (a free
 * port), subscribe to it, publish to it, and stop it by the PIDs the bench started.
 */
import { spawnListening as spawnServer } from "./spawn.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Protocol, Publish } from "./loadgen.ts";
import { freePort } from "../test/helpers/redis.ts";

export const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

export type PeerName = "ws-emit" | "bun-raw" | "socket.io" | "nchan" | "flask-socketio";
export const PEERS: PeerName[] = ["ws-emit", "bun-raw", "socket.io", "nchan", "flask-socketio"];

export interface Running {
  base: string;
  /** Every process to measure (RSS, CPU) and to stop. */
  pids: number[];
  tail(): string;
  stop(): Promise<void>;
}

export interface Transport {
  name: string;
  protocol: Protocol;
  subPath: string;
}

export interface PeerDef {
  name: PeerName;
  transports: Transport[];
  /** A reason this peer cannot run here, or null. */
  missing(): string | null;
  start(opts?: { redis?: string; nofile?: number }): Promise<Running>;
  /** How the delivery scenarios publish over HTTP. */
  httpPublish(base: string): Publish;
  /** What the HTTP ingest scenario POSTs: URL and body. */
  ingest(base: string): { url: string; body: string };
}

const SIO: Transport = { name: "sio-ws", protocol: "sio", subPath: "/socket.io/?EIO=4&transport=websocket" };
const EMIT_BODY = `{"event":"tick","room":"empty","data":{"seq":1,"ts":1234567.891,"pad":"${"x".repeat(24)}"}}`;
const emitIngest = (base: string) => ({ url: `${base}/emit`, body: EMIT_BODY });
const batchPublish = (base: string): Publish => ({ kind: "http-batch", url: `${base}/emit` });

/** Spawn a server that prints "listening on http://HOST:PORT"; keep draining its output. */
async function spawnListening(cmd: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<Running> {
  const { proc, lines, listening } = spawnServer(cmd, { env, timeoutMs });
  const base = await listening;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await proc.exited;
  };
  if (!base) {
    await stop();
    throw new Error(`${cmd.join(" ")} did not start:\n${lines.slice(-20).join("\n")}`);
  }
  return { base, pids: [proc.pid], tail: () => lines.slice(-20).join("\n"), stop };
}

const hasCmd = (c: string) => Bun.which(c) !== null;

export const DEFS: Record<PeerName, PeerDef> = {
  "ws-emit": {
    name: "ws-emit",
    transports: [
      { name: "native-ws", protocol: "native", subPath: "/ws?room={room}" },
      SIO,
      { name: "sse", protocol: "sse", subPath: "/sse?room={room}" },
    ],
    missing: () => (existsSync(join(ROOT, "dist/ws-emit")) ? null : "dist/ws-emit not built"),
    async start(opts = {}) {
      const args = ["--address", "127.0.0.1:0", "--max-connections", "200000"];
      args.push("--redis", opts.redis ?? "none");
      const r = await spawnListening([join(ROOT, "dist/ws-emit"), ...args]);
      if (opts.redis) {
        // Publishing before the Redis subscription is up would lose messages: wait for readiness.
        for (let i = 0; i < 100; i++) {
          if ((await fetch(`${r.base}/readyz`).catch(() => null))?.status === 200) break;
          await Bun.sleep(50);
        }
      }
      return r;
    },
    httpPublish: batchPublish,
    ingest: emitIngest,
  },
  "bun-raw": {
    name: "bun-raw",
    transports: [{ name: "ws", protocol: "native", subPath: "/ws?room={room}" }],
    missing: () => null,
    start: () => spawnListening([BUN, join(ROOT, "bench/peers/bun-raw.ts")]),
    httpPublish: batchPublish,
    ingest: emitIngest,
  },
  "socket.io": {
    name: "socket.io",
    transports: [SIO],
    missing: () =>
      !hasCmd("node") ? "node not on PATH" : !existsSync(join(ROOT, "node_modules/socket.io/package.json")) ? "npm socket.io not installed (npm install)" : null,
    start: () => spawnListening(["node", join(ROOT, "bench/peers/socketio-server.mjs")]),
    httpPublish: batchPublish,
    ingest: emitIngest,
  },
  nchan: {
    name: "nchan",
    transports: [
      { name: "ws", protocol: "ws-open", subPath: "/sub?id={room}" },
      { name: "sse", protocol: "sse", subPath: "/sub?id={room}" },
    ],
    missing: () =>
      !existsSync("/usr/sbin/nginx")
        ? "nginx not installed (apt-get install nginx-light)"
        : !existsSync("/usr/lib/nginx/modules/ngx_nchan_module.so")
          ? "nchan module not installed (apt-get install libnginx-mod-nchan)"
          : null,
    async start(opts = {}) {
      const dir = mkdtempSync(join(tmpdir(), "ws-emit-bench-nchan-"));
      const port = await freePort();
      const conf = readFileSync(join(ROOT, "bench/peers/nchan.conf"), "utf8")
        .replaceAll("{{DIR}}", dir)
        .replaceAll("{{PORT}}", String(port))
        .replaceAll("{{NOFILE}}", String(opts.nofile ?? 20000));
      writeFileSync(join(dir, "nginx.conf"), conf);
      const proc = Bun.spawn(["/usr/sbin/nginx", "-c", join(dir, "nginx.conf"), "-p", dir, "-e", join(dir, "error.log")], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
      });
      const base = `http://127.0.0.1:${port}`;
      let up = false;
      for (let i = 0; i < 100 && !up && proc.exitCode === null; i++) {
        up = (await fetch(`${base}/pub?id=probe`, { method: "GET" }).catch(() => null)) !== null;
        if (!up) await Bun.sleep(50);
      }
      const errlog = () => (existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8").split("\n").slice(-20).join("\n") : "");
      const children = () => {
        try {
          return readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
        } catch {
          return [];
        }
      };
      const pids = [proc.pid, ...children()];
      const stop = async () => {
        for (const pid of [...children(), ...pids.slice(1)]) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
        await proc.exited;
        rmSync(dir, { recursive: true, force: true });
      };
      if (!up) {
        const log = errlog();
        await stop();
        throw new Error(`nginx did not start:\n${log}`);
      }
      return { base, pids, tail: errlog, stop };
    },
    httpPublish: (base) => ({ kind: "http-single", url: `${base}/pub?id={room}` }),
    ingest: (base) => ({ url: `${base}/pub?id=empty`, body: `{"type":"event","room":"empty","event":"tick","data":{"seq":1,"ts":1234567.891,"pad":"${"x".repeat(24)}"}}` }),
  },
  "flask-socketio": {
    name: "flask-socketio",
    transports: [SIO],
    missing() {
      const r = Bun.spawnSync(["/usr/bin/python3", "-c", "import flask_socketio, eventlet"], { stderr: "pipe" });
      return r.exitCode === 0 ? null : "python3-flask-socketio / python3-eventlet not importable by /usr/bin/python3";
    },
    start: () => spawnListening(["/usr/bin/python3", join(ROOT, "bench/peers/flask_socketio_peer.py")]),
    httpPublish: batchPublish,
    ingest: emitIngest,
  },
};

/** Debian packages each peer (and the bench itself) needs. */
export const APT: Record<string, string[]> = {
  nchan: ["nginx-light", "libnginx-mod-nchan"],
  "flask-socketio": ["python3-flask-socketio", "python3-eventlet"],
  redis: ["redis-server"],
  wrk: ["wrk"],
};
