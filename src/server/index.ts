/**
 * Bun.serve as a router over a list of adapters (src/adapters.ts), plus what is cross-cutting:
 * Origin and admission checks before any connection starts, CORS, the one error boundary around
 * every adapter's HTTP and WebSocket handlers, the heartbeat, and TLS listeners. It knows no
 * protocol by name.
 */
import type { Server } from "bun";
import { createOriginPolicy } from "../auth/origin.ts";
import { createOriginLog } from "../ops/origin-log.ts";
import { clientAddress } from "../auth/forwarded.ts";
import type { Config } from "../core/config.ts";
import { HttpError } from "../core/errors.ts";
import { quote } from "../core/bounds.ts";
import type { Hub } from "../core/hub.ts";
import type { Engine } from "../engine/types.ts";
import { createBoundary, type Boundary } from "../ops/boundary.ts";
import { createConnectionRateLimit, isConnectionStart } from "../ops/connection-rate.ts";
import { startHeartbeat } from "../ops/heartbeat.ts";
import { createListeners, type Listeners } from "../ops/listeners.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import { loadTls, type TlsMaterial } from "../ops/tls.ts";
import type { Adapter, Answer, Handlers, Peer } from "./adapter.ts";
import { CLOSE, type Ctx, type WS, type WsData } from "./context.ts";
import { json } from "./http.ts";

export interface Deps {
  config: Config;
  log: Logger;
  hub: Hub;
  engine: Engine;
  metrics: Metrics;
  /** What the server answers, in order (src/adapters.ts). */
  adapters: readonly Adapter[];
  /** The process's error boundary (one per process, shared with the Redis handlers). */
  boundary?: Boundary;
}

export interface RunningServer {
  /** The server taking new connections (see listeners.ts for TLS reloads). */
  readonly server: Server<WsData>;
  /** Publish target for the hub: every live listener. */
  listeners: Listeners;
  ctx: Ctx;
  url: string;
  /** URL of the --metrics-address listener, when there is one. */
  metricsUrl: string | null;
  /** Re-read --tls-cert/--tls-key and serve them to new connections (SIGHUP). */
  reloadTls(): { ok: true; message: string } | { ok: false; message: string };
  close(): void;
}

const CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
const CORS_HEADERS = "Content-Type, Authorization";
/** Bun's own request body limit: far above every configurable one (see serveOptions). */
const BODY_BACKSTOP_BYTES = 1024 ** 3;

export function startServer(deps: Deps): RunningServer {
  const { config, log, metrics } = deps;
  const origins = createOriginPolicy(config.cors);
  const originLog = createOriginLog(log, config.cors, origins);
  let server: Server<WsData> | undefined;
  const ctx: Ctx = {
    ...deps,
    origins,
    sockets: new Set(),
    streams: new Set(),
    server: () => server!,
    state: { draining: false, startedAt: Date.now() },
    connectionCount: () => ctx.sockets.size + ctx.streams.size,
  };
  const boundary = deps.boundary ?? createBoundary(log, metrics);
  const connectionRate = createConnectionRateLimit(config.connectionRate, config.connectionRateExempt);
  let tls: TlsMaterial | null = null;
  if (config.tlsCert && config.tlsKey) {
    const t = loadTls(config.tlsCert, config.tlsKey);
    if (!t.ok) throw new Error(t.error);
    tls = t.value;
  }

  const started: Array<{ name: string; h: Handlers }> = [];
  const closeAdapters = () => {
    for (const { name, h } of started) boundary.guard(`close:${name}`, () => h.close?.());
  };
  try {
    for (const a of deps.adapters) if (a.start) started.push({ name: a.name, h: a.start(ctx) });
  } catch (e) {
    closeAdapters();
    throw e;
  }

  /**
   * With TLS the listener sets SO_REUSEPORT so a reload can bind beside it; that would also let
   * a second ws-emit on the same port start silently and take half the connections. Bind once
   * without it first: a port held by anyone else fails here with EADDRINUSE, as without TLS.
   */
  function exclusivePort(): number {
    const probe = Bun.listen({ hostname: config.host, port: config.port, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    return port;
  }

  /**
   * Refuse a new connection before any upgrade or stream starts: draining (503, go elsewhere),
   * connection limit (503), too many new connections from one address (429).
   */
  function admit(ip: string): void {
    if (ctx.state.draining) throw new HttpError(503, "draining", "this node is shutting down; reconnect to another", { "Retry-After": "1" });
    if (ctx.connectionCount() >= config.maxConnections) {
      metrics.inc("ws_emit_connections_refused_total", { reason: "max_connections" });
      throw new HttpError(503, "too_many_connections", "connection limit reached", { "Retry-After": "5" });
    }
    const wait = connectionRate.take(ip);
    if (wait !== null) {
      metrics.inc("ws_emit_connections_refused_total", { reason: "rate_limit" });
      const secs = Math.max(1, Math.ceil(wait));
      throw new HttpError(429, "rate_limited", `too many new connections from your address; retry in ${secs} s`, { "Retry-After": String(secs) });
    }
  }

  /** Browsers send Origin; same-origin pages (the built-in one) and --cors origins may connect. */
  function originOk(req: Request): boolean {
    const origin = req.headers.get("origin");
    if (origins.allows(origin)) return true;
    try {
      return new URL(origin!).host === req.headers.get("host");
    } catch {
      return false;
    }
  }

  /** Ask each adapter in turn; the first answer wins, then the catch-alls. Exceptions stay here. */
  async function route(req: Request, url: URL, peer: Peer): Promise<Response | undefined> {
    for (const { name, h } of started) {
      let res = guarded(name, () => h.handle(req, url, peer));
      // Most adapters answer "not mine" synchronously: no await (a microtask each) for those.
      if (res instanceof Promise) res = await res;
      if (res !== null) return res;
    }
    for (const { name, h } of started) {
      if (!h.fallback) continue;
      let res = guarded(name, () => h.fallback!(req, url, peer));
      if (res instanceof Promise) res = await res;
      if (res !== null) return res;
    }
    throw new HttpError(404, "not_found", `no route for ${req.method} ${url.pathname}`);
  }

  /** HttpErrors are answers and pass through; anything else is a bug: counted, logged, a JSON 500. */
  function guarded(name: string, fn: () => Answer | Promise<Answer>): Answer | Promise<Answer> {
    const fail = (e: unknown): never => {
      if (e instanceof HttpError) throw e;
      boundary.report(`http:${name}`, e);
      throw new HttpError(500, "internal", "internal server error");
    };
    try {
      const res = fn();
      return res instanceof Promise ? res.catch(fail) : res;
    } catch (e) {
      return fail(e);
    }
  }

  function corsHeaders(req: Request): Record<string, string> {
    const allow = origins.allowHeader(req.headers.get("origin"));
    return allow ? { "Access-Control-Allow-Origin": allow, "Access-Control-Allow-Credentials": "true", Vary: "Origin" } : {};
  }

  /**
   * A draining node stops its listeners soon, ending every keep-alive connection: say so on each
   * response, so a client opens a new connection (to another node) instead of reusing this one
   * and getting "socket hang up" (Node's keep-alive agent does).
   */
  function closingWhenDraining(res: Response): Response {
    if (ctx.state.draining) res.headers.set("Connection", "close");
    return res;
  }

  function errorResponse(e: unknown, req: Request): Response {
    if (e instanceof HttpError) return json({ error: e.code, message: e.message, ...e.extra }, e.status, { ...corsHeaders(req), ...e.headers });
    boundary.report("http", e);
    return json({ error: "internal", message: "internal server error" }, 500);
  }

  /** A WebSocket handler behind the boundary: an exception closes that one socket with 1011. */
  function wsGuard(ws: WS, what: string, fn: () => void): void {
    boundary.guard(`ws:${ws.data.conn.transport}:${what}`, fn, () => {
      if (what !== "close") ws.close(CLOSE.INTERNAL_ERROR, "internal error");
    });
  }

  const serveOptions = (material: TlsMaterial | null, port: number) => ({
    hostname: config.host,
    port,
    // A thrown error must never show source to a client.
    development: false,
    // Workers share the port; with TLS a reload binds the new certificate beside the old listener.
    reusePort: config.workers !== 1 || material !== null,
    // Every handler that reads a body bounds it itself while streaming (readBody: --max-body,
    // --sio-max-http-buffer) and answers a JSON 413; Bun's own 413 has no body and would also
    // cap --sio-max-http-buffer at --max-body. Bun does not buffer a body nobody reads (checked:
    // 200 MB chunked to a route that never reads it, RSS flat), so this is only a backstop.
    maxRequestBodySize: BODY_BACKSTOP_BYTES,
    tls: material ? { cert: material.cert, key: material.key } : undefined,
    async fetch(req: Request, srv: Server<WsData>) {
      // requestIP costs ~2 µs (a tenth of an emit's CPU): asked for once, and only where needed.
      let ip: string | undefined;
      const peer = () => (ip ??= clientAddress(req.headers, srv.requestIP(req)?.address ?? "", config.trustProxy)); // --trust-proxy: the forwarded client
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        // e.g. HTTP/1.0 without a Host header: Bun cannot build the request's URL.
        return json({ error: "bad_request", message: "the request has no valid Host header or target" }, 400, { Connection: "close" });
      }
      try {
        if (!originOk(req)) {
          metrics.inc("ws_emit_connections_refused_total", { reason: "origin" });
          originLog.refused(req.headers.get("origin"));
          // Socket.IO answers a refused origin with 400 on the handshake; everything else 403.
          const status = url.pathname.startsWith("/socket.io") ? 400 : 403;
          return closingWhenDraining(json({ error: "origin_not_allowed", message: `origin ${quote(req.headers.get("origin"))} is not in --cors` }, status));
        }
        if (isConnectionStart(req, url)) {
          // A listener retired by a TLS reload cannot upgrade on the new one: send the client back.
          if (server && srv !== server) return json({ error: "try_again", message: "reconnect" }, 503, { "Retry-After": "0", Connection: "close" });
          admit(peer());
        }
        if (req.method === "OPTIONS") {
          return closingWhenDraining(new Response(null, {
            status: 204,
            headers: { ...corsHeaders(req), "Access-Control-Allow-Methods": CORS_METHODS, "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600" },
          }));
        }
        const res = await route(req, url, peer);
        if (res === undefined) return undefined; // upgraded
        if (req.headers.get("origin") !== null) for (const [k, v] of Object.entries(corsHeaders(req))) res.headers.set(k, v);
        return closingWhenDraining(res);
      } catch (e) {
        return closingWhenDraining(errorResponse(e, req));
      }
    },
    error(e: Error) {
      boundary.report("http", e);
      return json({ error: "internal", message: "internal server error" }, 500);
    },
    websocket: {
      maxPayloadLength: config.maxMessageBytes,
      backpressureLimit: config.backpressureBytes,
      // A stalled client is closed instead of silently dropping everything (Bun's default).
      closeOnBackpressureLimit: true,
      // Our heartbeat owns liveness; Bun's idle timer is re-armed by our own sends.
      idleTimeout: 0,
      sendPings: false,
      perMessageDeflate: false,
      open: (ws: WS) => wsGuard(ws, "open", () => ws.data.proto.open(ws)),
      message: (ws: WS, data: string | Buffer) => wsGuard(ws, "message", () => ws.data.proto.message(ws, data)),
      close: (ws: WS, code: number, reason: string) => wsGuard(ws, "close", () => ws.data.proto.close(ws, code, reason)),
      pong(ws: WS) {
        ws.data.conn.lastSeen = Date.now();
      },
    },
  });

  try {
    server = Bun.serve<WsData>(serveOptions(tls, tls && config.workers === 1 ? exclusivePort() : config.port));
  } catch (e) {
    closeAdapters();
    throw e;
  }
  const listeners = createListeners(server);
  const heartbeat = startHeartbeat(ctx);
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return {
    get server() {
      return listeners.current();
    },
    listeners,
    ctx,
    url: `${tls ? "https" : "http"}://${host}:${server.port}`,
    metricsUrl: ctx.state.metricsUrl ?? null,
    reloadTls() {
      if (!config.tlsCert || !config.tlsKey) return { ok: false, message: "no --tls-cert/--tls-key configured: nothing to reload" };
      const t = loadTls(config.tlsCert, config.tlsKey);
      if (!t.ok) {
        metrics.inc("ws_emit_tls_reloads_total", { result: "error" });
        return { ok: false, message: `${t.error}; still serving ${tls!.subject} (sha256 ${tls!.fingerprint256})` };
      }
      let next: Server<WsData>;
      try {
        next = Bun.serve<WsData>(serveOptions(t.value, listeners.current().port!));
      } catch (e) {
        metrics.inc("ws_emit_tls_reloads_total", { result: "error" });
        return { ok: false, message: `cannot serve the new certificate: ${(e as Error).message}; still serving the old one` };
      }
      tls = t.value;
      server = next;
      listeners.replace(next);
      metrics.inc("ws_emit_tls_reloads_total", { result: "ok" });
      return { ok: true, message: `TLS certificate reloaded: ${tls.subject}, valid to ${tls.validTo}, sha256 ${tls.fingerprint256}` };
    },
    close() {
      heartbeat.close();
      closeAdapters();
      listeners.close();
    },
  };
}
