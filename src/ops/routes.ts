/**
 * The ops adapter: /ping, /healthz, /readyz, /metrics, /stats (./admin.ts), the built-in page at
 * "/", and the --metrics-address listener when configured (then /metrics and /stats live only
 * there; health checks stay on the main address for load balancers).
 */
import { HttpError } from "../core/errors.ts";
import type { Adapter } from "../server/adapter.ts";
import { methodNotAllowed } from "../server/http.ts";
import { ADMIN_PATHS, createAdmin, startAdminServer } from "./admin.ts";
import page from "./page/index.html" with { type: "text" };

export const opsAdapter: Adapter = {
  name: "ops",
  start(ctx) {
    const { config } = ctx;
    const admin = createAdmin(ctx);
    let adminServer: ReturnType<typeof startAdminServer> | null = null;
    if (config.metricsAddress) {
      try {
        adminServer = startAdminServer(admin, config.metricsAddress.host, config.metricsAddress.port, ctx.log);
      } catch (e) {
        admin.close();
        throw new Error(`--metrics-address ${config.metricsAddress.host}:${config.metricsAddress.port}: ${(e as Error).message}`);
      }
      ctx.state.metricsUrl = adminServer.url;
    }
    const separateOnly = (path: string) => config.metricsAddress !== null && (path === "/metrics" || path === "/stats");
    return {
      handle(req, url, peer) {
        const path = url.pathname;
        const m = req.method;
        if (path === "/ping") return m === "GET" || m === "HEAD" ? new Response(null, { status: 200 }) : methodNotAllowed("GET");
        if (ADMIN_PATHS.has(path) && !separateOnly(path)) return admin.route(req, url, peer(), false);
        if (path !== "/" && path !== "/index.html") return null;
        if (m !== "GET" && m !== "HEAD") methodNotAllowed("GET");
        if (path === "/" && (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket")
          throw new HttpError(400, "bad_request", "no WebSocket at /: connect to /ws (native, wsify), /socket.io/ (Socket.IO), /.json (webdis) or /?token=… (wspush)");
        return new Response(page as unknown as string, { headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } });
      },
      close() {
        admin.close();
        adminServer?.close();
      },
    };
  },
};
