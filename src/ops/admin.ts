/**
 * Operations endpoints: /healthz (alive), /readyz (should get traffic), /metrics (Prometheus
 * text), /stats (JSON for humans; with Redis also the whole cluster, ./cluster-stats.ts).
 * Served on the main address, or on their own listener with --metrics-address so they can
 * stay on a private interface.
 */
import type { Server } from "bun";
import { isOwnRoomKey } from "../auth/own-rooms.ts";
import { bearerToken, secretMatches } from "../auth/secret.ts";
import type { Ctx } from "../server/context.ts";
import { HttpError } from "../core/errors.ts";
import { json, methodNotAllowed, namesLoopbackHost } from "../server/http.ts";
import { localRefusal } from "../auth/local-client.ts";
import { createClusterStats, SNAPSHOT_MAX_ROOMS, topRooms } from "./cluster-stats.ts";
import type { NodeRegistry } from "../engine/node-registry.ts";
import { hostname } from "node:os";
import { createRateTracker } from "../core/rates.ts";
import { VERSION } from "../core/version.ts";

export const ADMIN_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/stats"]);

export interface Admin {
  /**
   * Answer an admin path, or null when `path` is not one. `separate` = on the metrics
   * listener, where only an explicit --metrics-secret is asked for.
   */
  route(req: Request, url: URL, ip: string, separate: boolean): Response | Promise<Response> | null;
  close(): void;
}

export function createAdmin(ctx: Ctx): Admin {
  const { metrics, config, log } = ctx;
  const rates = createRateTracker({
    events_in_per_s: () => metrics.total("ws_emit_events_in_total"),
    deliveries_per_s: () => metrics.total("ws_emit_deliveries_total"),
  });
  metrics.set("ws_emit_build_info", 1, { version: VERSION });

  function connectionsByTransport(): Record<string, number> {
    const counts: Record<string, number> = { native: 0, socketio: 0, sse: 0, polling: 0, wsify: 0, webdis: 0, wspush: 0 };
    for (const ws of ctx.sockets) counts[ws.data.conn.transport] = (counts[ws.data.conn.transport] ?? 0) + 1;
    for (const s of ctx.streams) {
      const t = s.transport ?? "sse";
      counts[t] = (counts[t] ?? 0) + 1;
    }
    return counts;
  }

  /** Rooms with their local subscriber counts, without Socket.IO clients' own rooms (one per client). */
  function sharedRooms(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, n] of ctx.hub.rooms()) if (!isOwnRoomKey(k)) out.set(k, n);
    return out;
  }

  metrics.collect(() => {
    for (const [t, n] of Object.entries(connectionsByTransport())) metrics.set("ws_emit_connections", n, { transport: t });
    metrics.set("ws_emit_rooms", sharedRooms().size);
    metrics.set("ws_emit_draining", ctx.state.draining ? 1 : 0);
  });

  function requireAdmin(req: Request, ip: string, separate: boolean): void {
    const expected = separate ? config.metricsSecret : (config.metricsSecret ?? config.secret);
    if (expected === null) {
      if (separate || (localRefusal(config, req, ip) === null && namesLoopbackHost(req))) return;
      throw new HttpError(
        403,
        "forbidden",
        "no secret is configured, so only clients on this machine may read this, at localhost, 127.0.0.1 or [::1] (set --metrics-secret, or serve it on --metrics-address)",
      );
    }
    const presented = bearerToken(req.headers.get("authorization")) ?? new URL(req.url).searchParams.get("secret");
    if (!secretMatches(presented, expected)) throw new HttpError(403, "forbidden", "send the metrics (or emit) secret as Authorization: Bearer <secret>");
  }

  const uptime = () => Math.round((Date.now() - ctx.state.startedAt) / 1000);
  const sum = (byTransport: Record<string, number>) => Object.values(byTransport).reduce((a, b) => a + b, 0);

  // With Redis, this node shares its numbers every --stats-interval and /stats sums everyone's.
  const HOST = hostname().slice(0, 100);
  let registry = ctx.engine.nodes;
  const clusterStats = (registry: NodeRegistry) =>
    createClusterStats({
        registry,
        clusterName: config.cluster,
        intervalMs: config.statsIntervalMs,
        log,
        metrics,
        snapshot() {
          const all = sharedRooms();
          const byTransport = connectionsByTransport();
          return {
            version: VERSION,
            host: HOST,
            pid: process.pid,
            uptime_s: uptime(),
            draining: ctx.state.draining,
            connections: sum(byTransport),
            connections_by_transport: byTransport,
            rooms: all.size,
            top_rooms: topRooms(all, SNAPSHOT_MAX_ROOMS),
            rates_1m: rates.rates(60) as { events_in_per_s: number; deliveries_per_s: number },
          };
        },
      });
  let cluster = registry ? clusterStats(registry) : null;
  // Standalone until the default Redis appears: the cluster view starts with the switch.
  ctx.engine.onSwitch?.(() => {
    registry = ctx.engine.nodes;
    if (registry && !cluster) cluster = clusterStats(registry);
  });

  function stats() {
    const all = sharedRooms();
    const byTransport = connectionsByTransport();
    return {
      version: VERSION,
      pid: process.pid,
      engine: ctx.engine.kind,
      ...(registry ? { node: registry.nodeId } : {}),
      uptime_s: uptime(),
      draining: ctx.state.draining,
      connections: sum(byTransport),
      connections_by_transport: byTransport,
      rooms: all.size,
      /** The 100 largest rooms and their local subscriber counts. */
      top_rooms: Object.fromEntries(topRooms(all, 100)),
      events_in: metrics.total("ws_emit_events_in_total"),
      deliveries: metrics.total("ws_emit_deliveries_total"),
      /** Socket.IO polling requests passed to the worker owning their session (--workers). */
      sio_forwards: metrics.total("ws_emit_sio_forwards_total"),
      /** Of those, Socket.IO WebSockets relayed to the worker owning their session (--workers). */
      sio_relays: metrics.get("ws_emit_sio_forwards_total", { method: "websocket" }),
      /** Per-second averages over the last minute. */
      rates_1m: rates.rates(60),
    };
  }

  return {
    route(req, url, ip, separate) {
      const path = url.pathname;
      if (!ADMIN_PATHS.has(path)) return null;
      if (req.method !== "GET" && req.method !== "HEAD") methodNotAllowed("GET");
      switch (path) {
        case "/healthz":
          return json({ ok: true, version: VERSION, pid: process.pid, uptime_s: Math.round((Date.now() - ctx.state.startedAt) / 1000) });
        case "/readyz": {
          const engineReady = ctx.engine.ready();
          const ready = !ctx.state.draining && engineReady;
          const reason = ctx.state.draining ? "draining" : engineReady ? undefined : "engine_unavailable";
          return json({ ready, reason, draining: ctx.state.draining, engine: ctx.engine.kind, engine_ready: engineReady }, ready ? 200 : 503);
        }
        case "/metrics":
          requireAdmin(req, ip, separate);
          return new Response(metrics.render(), { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
        case "/stats":
          requireAdmin(req, ip, separate);
          // The local numbers first, so Redis trouble never costs more than the `cluster` part.
          if (cluster) {
            const local = stats();
            return cluster.view().then((c) => json({ ...local, cluster: c }));
          }
          return json(stats());
      }
      return null;
    },
    close() {
      rates.close();
      cluster?.close();
    },
  };
}

/** The --metrics-address listener: admin paths only, everything else 404. */
export function startAdminServer(admin: Admin, host: string, port: number, log: Ctx["log"]): { server: Server<undefined>; url: string; close(): void } {
  const server = Bun.serve({
    hostname: host,
    port,
    development: false,
    async fetch(req, srv) {
      const url = new URL(req.url);
      try {
        const res = await admin.route(req, url, srv.requestIP(req)?.address ?? "", true);
        return res ?? json({ error: "not_found", message: `this address serves only ${[...ADMIN_PATHS].join(", ")}` }, 404);
      } catch (e) {
        if (e instanceof HttpError) return json({ error: e.code, message: e.message }, e.status, e.headers);
        log.error("metrics listener failed", e);
        return json({ error: "internal", message: "internal server error" }, 500);
      }
    },
  });
  const h = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return { server, url: `http://${h}:${server.port}`, close: () => server.stop(true) };
}
