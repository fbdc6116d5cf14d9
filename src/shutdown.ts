/**
 * Graceful drain: stop taking connections (readyz says 503), close WebSockets with 1012
 * "service restart" spread over the grace period so clients do not reconnect all at once,
 * end SSE and polling streams, stop the listener, close the engine. A second signal exits at once.
 */
import { CLOSE, type Ctx } from "./context.ts";

export async function drain(ctx: Ctx, graceMs: number, stopServer: () => void): Promise<void> {
  ctx.state.draining = true;
  const sockets = [...ctx.sockets];
  ctx.log.info(`draining ${sockets.length} WebSockets and ${ctx.streams.size} streams over ${graceMs} ms`);
  // Spread the closes evenly over 80% of the grace; the rest is for the last closes to flush.
  const spread = graceMs * 0.8;
  const step = sockets.length > 1 ? spread / sockets.length : 0;
  const streamCount = ctx.streams.size;
  for (const s of [...ctx.streams]) s.end("draining");
  for (let i = 0; i < sockets.length; i++) {
    const ws = sockets[i]!;
    if (ctx.sockets.has(ws)) ws.close(CLOSE.RESTART, "server restarting; reconnect");
    if (step >= 1 && i % Math.max(1, Math.floor(10 / step)) === 0) await Bun.sleep(step * Math.max(1, Math.floor(10 / step)));
  }
  const deadline = Date.now() + Math.max(200, graceMs - spread);
  while (ctx.sockets.size > 0 && Date.now() < deadline) await Bun.sleep(20);
  // Ended streams answered their last request (a polling close packet, an SSE stream's end)
  // just now; stop(true) would cut those connections before the bytes leave.
  if (streamCount > 0) await Bun.sleep(100);
  stopServer();
  await Promise.race([ctx.engine.close(), Bun.sleep(2000)]);
}
