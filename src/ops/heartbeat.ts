/**
 * Our own liveness check. Bun's idleTimeout is re-armed by every send, so a dead client
 * that we keep publishing to would never be reaped (oven-sh/bun#39255). Every interval we
 * ping each socket; one silent for two intervals is terminated.
 */
import type { Ctx } from "../server/context.ts";

const WSIFY_PING = '{"type":"ping"}';

export function startHeartbeat(ctx: Ctx): { close(): void } {
  const interval = ctx.config.heartbeatMs;
  const timer = setInterval(() => {
    const deadline = Date.now() - 2 * interval;
    for (const ws of ctx.sockets) {
      if (ws.data.conn.lastSeen < deadline) {
        ctx.metrics.inc("ws_emit_drops_total", { reason: "heartbeat_timeout" });
        ctx.sockets.delete(ws);
        ws.terminate();
      } else ws.ping();
    }
  }, interval);
  timer.unref();
  // The wsify fork sends a text heartbeat its clients may watch for; the WebSocket ping above
  // is invisible to page scripts.
  const wsifyMs = ctx.config.wsifyPingMs;
  const wsifyTimer = wsifyMs > 0 ? setInterval(() => {
    for (const ws of ctx.sockets) if (ws.data.conn.transport === "wsify") ws.sendText(WSIFY_PING);
  }, wsifyMs) : null;
  wsifyTimer?.unref();
  return {
    close: () => {
      clearInterval(timer);
      if (wsifyTimer) clearInterval(wsifyTimer);
    },
  };
}
