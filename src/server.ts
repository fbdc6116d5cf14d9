/** Bun.serve: routes, upgrade dispatch, error mapping. */
import type { Server } from "bun";
import { connectCommand, createAuthorizer } from "./auth/authorizer.ts";
import { createOriginPolicy } from "./auth/origin.ts";
import { bearerToken, secretMatches } from "./auth/secret.ts";
import type { Config } from "./config.ts";
import type { Ctx, WsData } from "./context.ts";
import type { Engine } from "./engine/types.ts";
import { HttpError } from "./errors.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { isLoopback, json, methodNotAllowed } from "./http-util.ts";
import type { Hub } from "./hub.ts";
import { handleEmit, handleRoomspaceSecret } from "./ingest/http.ts";
import { handleWebdisPublish } from "./ingest/webdis-publish.ts";
import { handleWsifyBroadcast } from "./ingest/wsify-broadcast.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import page from "./page/index.html" with { type: "text" };
import { createNativeProtocol, upgradeNative } from "./protocols/native-ws.ts";
import { createWsifyProtocol } from "./protocols/wsify-ws.ts";
import { createWebdisProtocol, upgradeWebdis } from "./protocols/webdis-ws.ts";
import { createWspushGate, createWspushProtocol, upgradeWspush } from "./protocols/wspush-ws.ts";
import { VERSION } from "./version.ts";

export interface Deps {
  config: Config;
  log: Logger;
  hub: Hub;
  engine: Engine;
  metrics: Metrics;
  /** Extra routes from transports added later (Socket.IO, SSE); return null when not theirs. */
  routes?: Array<(ctx: Ctx, req: Request, url: URL, ip: string) => Promise<Response | undefined | null> | Response | undefined | null>;
}

export interface RunningServer {
  server: Server<WsData>;
  ctx: Ctx;
  url: string;
  close(): void;
}

const CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
const CORS_HEADERS = "Content-Type, Authorization";

export function startServer(deps: Deps, extra: (ctx: Ctx) => void = () => {}): RunningServer {
  const { config, log, metrics } = deps;
  const origins = createOriginPolicy(config.cors);
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
  const authorizer = config.authorizerUrl ? createAuthorizer(config.authorizerUrl, config.authorizerTimeoutMs, config.authorizerCacheMs) : null;
  const native = createNativeProtocol(ctx, createWsifyProtocol(ctx, authorizer));
  const webdis = createWebdisProtocol(ctx);
  const wspushGate = createWspushGate(ctx);
  const wspush = createWspushProtocol(ctx, wspushGate);
  extra(ctx);

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

  function requireAdmin(req: Request, ip: string): void {
    const expected = config.metricsSecret ?? config.secret;
    if (expected === null) {
      if (!isLoopback(ip)) throw new HttpError(403, "forbidden", "no secret is configured, so only clients on this machine may read this");
      return;
    }
    const presented = bearerToken(req.headers.get("authorization")) ?? new URL(req.url).searchParams.get("secret");
    if (!secretMatches(presented, expected)) throw new HttpError(403, "forbidden", "send the metrics or emit secret as Authorization: Bearer");
  }

  /** New connections are refused while draining or at --max-connections. */
  function refuseWhenFull(): void {
    if (ctx.state.draining) throw new HttpError(503, "draining", "this node is shutting down; reconnect to another", { "Retry-After": "1" });
    if (ctx.connectionCount() >= config.maxConnections) {
      metrics.inc("ws_emit_connections_refused_total", { reason: "max_connections" });
      throw new HttpError(503, "too_many_connections", "connection limit reached", { "Retry-After": "5" });
    }
  }

  async function route(req: Request, url: URL, ip: string): Promise<Response | undefined> {
    const path = url.pathname;
    const m = req.method;
    if (path === "/emit") return m === "POST" ? handleEmit(ctx, req, ip) : methodNotAllowed("POST");
    if (path === "/ws") {
      if (m !== "GET") methodNotAllowed("GET");
      refuseWhenFull();
      if (authorizer) {
        const verdict = await authorizer.check(connectCommand(req, url));
        if (verdict === "down") throw new HttpError(503, "authorizer_unavailable", "the authorizer is down; try again later", { "Retry-After": "5" });
        if (verdict === "denied") {
          metrics.inc("ws_emit_connections_refused_total", { reason: "authorizer" });
          throw new HttpError(403, "forbidden", "the authorizer refused this connection");
        }
      }
      return upgradeNative(ctx, req, url, native, ip);
    }
    if (path === "/.json") {
      if (m !== "GET") methodNotAllowed("GET");
      refuseWhenFull();
      return upgradeWebdis(ctx, req, url, webdis, ip);
    }
    if (path === "/wspush" || path === "/wspush/sse") {
      if (m !== "GET") methodNotAllowed("GET");
      const wantsSse = path.endsWith("/sse") || (req.headers.get("accept") ?? "").includes("text/event-stream");
      refuseWhenFull();
      const token = wspushGate.admit(url);
      if (wantsSse) {
        if (!ctx.wspushSse) {
          wspushGate.release(token);
          throw new HttpError(501, "not_implemented", "wspush over SSE is not available in this build");
        }
        return ctx.wspushSse(req, token, ip, () => wspushGate.release(token));
      }
      return upgradeWspush(ctx, req, wspush, wspushGate, token, ip);
    }
    if (path === "/ping" && (m === "GET" || m === "HEAD")) return new Response(null, { status: 200 });
    if (path.startsWith("/PUBLISH/")) return m === "GET" || m === "POST" ? handleWebdisPublish(ctx, req, url, ip) : methodNotAllowed("GET, POST");
    if (path === "/broadcast") return m === "POST" ? handleWsifyBroadcast(ctx, req, url, ip) : methodNotAllowed("POST");
    const rs = /^\/roomspaces\/([^/]+)\/secret$/.exec(path);
    if (rs) return m === "PUT" || m === "DELETE" ? handleRoomspaceSecret(ctx, req, ip, decodeURIComponent(rs[1]!)) : methodNotAllowed("PUT, DELETE");
    for (const r of deps.routes ?? []) {
      const res = await r(ctx, req, url, ip);
      if (res !== null) return res;
    }
    if (m !== "GET" && m !== "HEAD") {
      if (["/", "/healthz", "/readyz", "/stats", "/metrics"].includes(path)) methodNotAllowed("GET");
    }
    switch (path) {
      case "/":
      case "/index.html":
        return new Response(page as unknown as string, { headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } });
      case "/healthz":
        return json({ ok: true, version: VERSION, pid: process.pid, uptime_s: Math.round((Date.now() - ctx.state.startedAt) / 1000) });
      case "/readyz": {
        const ready = !ctx.state.draining && deps.engine.ready();
        return json({ ready, draining: ctx.state.draining, engine: deps.engine.kind, engine_ready: deps.engine.ready() }, ready ? 200 : 503);
      }
      case "/metrics":
        requireAdmin(req, ip);
        return new Response(metrics.render(), { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
      case "/stats":
        requireAdmin(req, ip);
        return json(stats());
    }
    throw new HttpError(404, "not_found", `no route for ${m} ${path}`);
  }

  function stats() {
    const rooms = [...deps.hub.rooms()].sort((a, b) => b[1] - a[1]);
    return {
      version: VERSION,
      pid: process.pid,
      engine: deps.engine.kind,
      connections: ctx.connectionCount(),
      rooms: rooms.length,
      top_rooms: Object.fromEntries(rooms.slice(0, 100)),
      events_in: metrics.get("ws_emit_events_in_total", { source: "http" }),
    };
  }

  metrics.collect(() => {
    const counts: Record<string, number> = {};
    for (const ws of ctx.sockets) counts[ws.data.conn.transport] = (counts[ws.data.conn.transport] ?? 0) + 1;
    // Streams that say their transport (SSE, Socket.IO long-polling) count under it.
    for (const s of ctx.streams) if (s.transport) counts[s.transport] = (counts[s.transport] ?? 0) + 1;
    for (const t of ["native", "socketio", "sse", "polling", "wsify", "webdis", "wspush"]) metrics.set("ws_emit_connections", counts[t] ?? 0, { transport: t });
    metrics.set("ws_emit_rooms", deps.hub.rooms().size);
  });

  function corsHeaders(req: Request): Record<string, string> {
    const allow = origins.allowHeader(req.headers.get("origin"));
    return allow ? { "Access-Control-Allow-Origin": allow, "Access-Control-Allow-Credentials": "true", Vary: "Origin" } : {};
  }

  function errorResponse(e: unknown, req: Request): Response {
    if (e instanceof HttpError) return json({ error: e.code, message: e.message, ...e.extra }, e.status, { ...corsHeaders(req), ...e.headers });
    log.error(`${req.method} ${new URL(req.url).pathname} failed`, e);
    return json({ error: "internal", message: "internal server error" }, 500);
  }

  server = Bun.serve<WsData>({
    hostname: config.host,
    port: config.port,
    // A thrown error must never show source to a client.
    development: false,
    reusePort: config.workers !== 1,
    maxRequestBodySize: Math.max(config.maxBodyBytes, 64 * 1024) + 1024,
    tls: config.tlsCert && config.tlsKey ? { cert: Bun.file(config.tlsCert), key: Bun.file(config.tlsKey) } : undefined,
    async fetch(req, srv) {
      const ip = srv.requestIP(req)?.address ?? "";
      const url = new URL(req.url);
      try {
        if (!originOk(req)) {
          metrics.inc("ws_emit_connections_refused_total", { reason: "origin" });
          // Socket.IO answers a refused origin with 400 on the handshake; everything else 403.
          const status = url.pathname.startsWith("/socket.io") ? 400 : 403;
          return json({ error: "origin_not_allowed", message: `origin ${req.headers.get("origin")} is not in --cors` }, status);
        }
        if (req.method === "OPTIONS") {
          return new Response(null, {
            status: 204,
            headers: { ...corsHeaders(req), "Access-Control-Allow-Methods": CORS_METHODS, "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600" },
          });
        }
        const res = await route(req, url, ip);
        if (res === undefined) return undefined; // upgraded
        for (const [k, v] of Object.entries(corsHeaders(req))) res.headers.set(k, v);
        return res;
      } catch (e) {
        return errorResponse(e, req);
      }
    },
    error(e) {
      log.error("unhandled server error", e);
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
      open: (ws) => ws.data.proto.open(ws),
      message: (ws, data) => ws.data.proto.message(ws, data),
      close: (ws, code, reason) => ws.data.proto.close(ws, code, reason),
      pong(ws) {
        ws.data.conn.lastSeen = Date.now();
      },
    },
  });

  const heartbeat = startHeartbeat(ctx);
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return {
    server,
    ctx,
    url: `${config.tlsCert ? "https" : "http"}://${host}:${server.port}`,
    close() {
      heartbeat.close();
      server!.stop(true);
    },
  };
}
