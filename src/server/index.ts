/** Bun.serve: routes, upgrade dispatch, error mapping. */
import type { Server } from "bun";
import { ADMIN_PATHS, createAdmin, startAdminServer } from "../ops/admin.ts";
import { connectCommand, createAuthorizer } from "../auth/authorizer.ts";
import { createOriginPolicy } from "../auth/origin.ts";
import { clientAddress } from "../auth/forwarded.ts";
import type { Config } from "../core/config.ts";
import type { Ctx, WS, WsData } from "./context.ts";
import type { Engine } from "../engine/types.ts";
import { HttpError } from "../core/errors.ts";
import { startHeartbeat } from "../ops/heartbeat.ts";
import { json, methodNotAllowed } from "./http.ts";
import type { Hub } from "../core/hub.ts";
import { handleEmit, handleRoomspaceSecret } from "../ingest/http.ts";
import { createConnectionRateLimit, isConnectionStart } from "../ops/connection-rate.ts";
import { createListeners, type Listeners } from "../ops/listeners.ts";
import { handleWebdisPublish } from "../ingest/webdis-publish.ts";
import { handleWsifyBroadcast } from "../ingest/wsify-broadcast.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import page from "../ops/page/index.html" with { type: "text" };
import { createNativeProtocol, upgradeNative } from "../protocols/native/ws.ts";
import { createWsifyProtocol } from "../protocols/compat/wsify/ws.ts";
import { createWebdisProtocol, upgradeWebdis } from "../protocols/compat/webdis/ws.ts";
import { createWspushGate, createWspushProtocol, upgradeWspush } from "../protocols/compat/wspush/ws.ts";
import { loadTls, type TlsMaterial } from "../ops/tls.ts";

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
  const admin = createAdmin(ctx);
  const connectionRate = createConnectionRateLimit(config.connectionRate, config.connectionRateExempt);
  extra(ctx);

  let tls: TlsMaterial | null = null;
  if (config.tlsCert && config.tlsKey) {
    const t = loadTls(config.tlsCert, config.tlsKey);
    if (!t.ok) throw new Error(t.error);
    tls = t.value;
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

  /** New connections are refused while draining or at --max-connections. */
  function refuseWhenFull(): void {
    if (ctx.state.draining) throw new HttpError(503, "draining", "this node is shutting down; reconnect to another", { "Retry-After": "1" });
    if (ctx.connectionCount() >= config.maxConnections) {
      metrics.inc("ws_emit_connections_refused_total", { reason: "max_connections" });
      throw new HttpError(503, "too_many_connections", "connection limit reached", { "Retry-After": "5" });
    }
  }

  /**
   * wspush served every path, so its clients may use "/?token=Foo" or "/sse?token=Foo". Those
   * are wspush requests when they cannot mean anything else: "/" only for an upgrade or an
   * event stream, "/sse" only without a room and with a token that is not a signed ws-emit
   * token (those always hold a dot; wspush tokens are base64url).
   */
  function isWspushOnOwnPath(req: Request, url: URL): boolean {
    const token = url.searchParams.get("token");
    if (token === null) return false;
    if (url.pathname === "/") {
      const upgrade = (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
      return upgrade || (req.headers.get("accept") ?? "").includes("text/event-stream");
    }
    return url.pathname === "/sse" && !url.searchParams.has("room") && !url.searchParams.has("format") && !token.includes(".");
  }

  async function route(req: Request, url: URL, peer: () => string): Promise<Response | undefined> {
    const path = url.pathname;
    const m = req.method;
    // An emit needs the client's address only for the loopback check (no --secret).
    if (path === "/emit") return m === "POST" ? handleEmit(ctx, req, peer) : methodNotAllowed("POST");
    const ip = peer();
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
    if (path === "/wspush" || path === "/wspush/sse" || isWspushOnOwnPath(req, url)) {
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
    if (path === "/ping") return m === "GET" || m === "HEAD" ? new Response(null, { status: 200 }) : methodNotAllowed("GET");
    if (path.startsWith("/PUBLISH/")) return m === "GET" || m === "POST" ? handleWebdisPublish(ctx, req, url, ip) : methodNotAllowed("GET, POST");
    if (path === "/broadcast") return m === "POST" ? handleWsifyBroadcast(ctx, req, url, ip) : methodNotAllowed("POST");
    const rs = /^\/roomspaces\/([^/]+)\/secret$/.exec(path);
    if (rs) return m === "PUT" || m === "DELETE" ? handleRoomspaceSecret(ctx, req, ip, decodeURIComponent(rs[1]!)) : methodNotAllowed("PUT, DELETE");
    // With --metrics-address, /metrics and /stats live only there; health checks stay here for load balancers.
    if (ADMIN_PATHS.has(path) && !(config.metricsAddress && (path === "/metrics" || path === "/stats"))) {
      return admin.route(req, url, ip, false)!;
    }
    for (const r of deps.routes ?? []) {
      const res = await r(ctx, req, url, ip);
      if (res !== null) return res;
    }
    // wspush answered every path: one nothing else claims, carrying ?token=, is a wspush client.
    if (url.searchParams.has("token") && path !== "/" && path !== "/index.html") return route(req, new URL(`/wspush${path.endsWith("/sse") ? "/sse" : ""}${url.search}`, url), () => ip);
    if (m !== "GET" && m !== "HEAD" && (path === "/" || path === "/index.html")) methodNotAllowed("GET");
    if (path === "/" && (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket")
      throw new HttpError(400, "bad_request", "no WebSocket at /: connect to /ws (native, wsify), /socket.io/ (Socket.IO), /.json (webdis) or /?token=… (wspush)");
    switch (path) {
      case "/":
      case "/index.html":
        return new Response(page as unknown as string, { headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } });
    }
    throw new HttpError(404, "not_found", `no route for ${m} ${path}`);
  }

  function corsHeaders(req: Request): Record<string, string> {
    const allow = origins.allowHeader(req.headers.get("origin"));
    return allow ? { "Access-Control-Allow-Origin": allow, "Access-Control-Allow-Credentials": "true", Vary: "Origin" } : {};
  }

  function errorResponse(e: unknown, req: Request): Response {
    if (e instanceof HttpError) return json({ error: e.code, message: e.message, ...e.extra }, e.status, { ...corsHeaders(req), ...e.headers });
    log.error(`${req.method} ${new URL(req.url).pathname} failed`, e);
    return json({ error: "internal", message: "internal server error" }, 500);
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
      const url = new URL(req.url);
      try {
        if (!originOk(req)) {
          metrics.inc("ws_emit_connections_refused_total", { reason: "origin" });
          // Socket.IO answers a refused origin with 400 on the handshake; everything else 403.
          const status = url.pathname.startsWith("/socket.io") ? 400 : 403;
          return json({ error: "origin_not_allowed", message: `origin ${req.headers.get("origin")} is not in --cors` }, status);
        }
        if (isConnectionStart(req, url)) {
          // A listener retired by a TLS reload cannot upgrade on the new one: send the client back.
          if (server && srv !== server) return json({ error: "try_again", message: "reconnect" }, 503, { "Retry-After": "0", Connection: "close" });
          admit(peer());
        }
        if (req.method === "OPTIONS") {
          return new Response(null, {
            status: 204,
            headers: { ...corsHeaders(req), "Access-Control-Allow-Methods": CORS_METHODS, "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600" },
          });
        }
        const res = await route(req, url, peer);
        if (res === undefined) return undefined; // upgraded
        if (req.headers.get("origin") !== null) for (const [k, v] of Object.entries(corsHeaders(req))) res.headers.set(k, v);
        return res;
      } catch (e) {
        return errorResponse(e, req);
      }
    },
    error(e: Error) {
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
      open: (ws: WS) => ws.data.proto.open(ws),
      message: (ws: WS, data: string | Buffer) => ws.data.proto.message(ws, data),
      close: (ws: WS, code: number, reason: string) => ws.data.proto.close(ws, code, reason),
      pong(ws: WS) {
        ws.data.conn.lastSeen = Date.now();
      },
    },
  });

  server = Bun.serve<WsData>(serveOptions(tls, tls && config.workers === 1 ? exclusivePort() : config.port));
  const listeners = createListeners(server);
  let adminServer: ReturnType<typeof startAdminServer> | null = null;
  if (config.metricsAddress) {
    try {
      adminServer = startAdminServer(admin, config.metricsAddress.host, config.metricsAddress.port, log);
    } catch (e) {
      listeners.close();
      throw new Error(`--metrics-address ${config.metricsAddress.host}:${config.metricsAddress.port}: ${(e as Error).message}`);
    }
  }
  const heartbeat = startHeartbeat(ctx);
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return {
    get server() {
      return listeners.current();
    },
    listeners,
    ctx,
    url: `${tls ? "https" : "http"}://${host}:${server.port}`,
    metricsUrl: adminServer?.url ?? null,
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
      admin.close();
      adminServer?.close();
      listeners.close();
    },
  };
}
