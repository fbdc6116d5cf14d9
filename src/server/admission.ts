/** Admission checks shared by every adapter that opens a long-lived connection. */
import { HttpError } from "../core/errors.ts";
import type { Ctx } from "./context.ts";

/** New connections are refused while draining (503, go elsewhere) or at --max-connections (503). */
export function refuseWhenFull(ctx: Ctx): void {
  if (ctx.state.draining) throw new HttpError(503, "draining", "this node is shutting down; reconnect to another", { "Retry-After": "1" });
  if (ctx.connectionCount() >= ctx.config.maxConnections) {
    ctx.metrics.inc("ws_emit_connections_refused_total", { reason: "max_connections" });
    throw new HttpError(503, "too_many_connections", "connection limit reached", { "Retry-After": "5" });
  }
}
