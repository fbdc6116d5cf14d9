/**
 * Graceful drain, on SIGTERM/SIGINT:
 *  1. mark the node draining: /readyz answers 503 (load balancers stop sending traffic) and
 *     new upgrades/streams get 503 + Retry-After (server.ts `admit`);
 *  2. close every WebSocket with 1012 "service restart" and end every SSE/polling stream,
 *     spread over 80% of the grace period with jitter, so clients reconnect to other nodes
 *     gradually instead of all in the same second;
 *  3. wait (until the grace ends) for the close handshakes, then stop the listeners,
 *     which terminates anything still open;
 *  4. close the engine (flushes and quits Redis), bounded in time.
 * A second signal is handled by the caller (exit at once).
 */
import { CLOSE, type Ctx } from "../server/context.ts";

export interface DrainResult {
  /** WebSockets and streams asked to close. */
  closed: number;
  /** Still open when the grace ran out (terminated by stopping the listeners). */
  leftover: number;
}

/**
 * When each of `n` closes happens, in ms from the start: evenly spaced slots over `spreadMs`,
 * each at a random point inside its slot. Non-decreasing, so one pass in order suffices.
 */
export function closeSchedule(n: number, spreadMs: number, random: () => number = Math.random): number[] {
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? 0 : (spreadMs * (i + random())) / n;
  return out;
}

export async function drain(ctx: Ctx, graceMs: number, stopServer: () => void, engineTimeoutMs = 3000): Promise<DrainResult> {
  ctx.state.draining = true;
  const started = performance.now();
  const closers: Array<() => void> = [];
  for (const ws of ctx.sockets) closers.push(() => ctx.sockets.has(ws) && ws.close(CLOSE.RESTART, "server restarting; reconnect"));
  for (const s of ctx.streams) closers.push(() => ctx.streams.has(s) && s.end("draining"));
  const streamCount = ctx.streams.size;
  const spread = graceMs * 0.8;
  ctx.log.info(`draining ${ctx.sockets.size} WebSockets and ${ctx.streams.size} streams over ${graceMs} ms`);

  const due = closeSchedule(closers.length, spread);
  let next = 0;
  while (next < closers.length) {
    const elapsed = performance.now() - started;
    while (next < closers.length && due[next]! <= elapsed) {
      try {
        closers[next++]!();
      } catch (e) {
        // One transport's failure must not stop the others from draining.
        ctx.log.error("closing a connection during the drain failed", e);
      }
    }
    if (next < closers.length) await Bun.sleep(Math.max(1, Math.min(50, due[next]! - elapsed)));
  }

  // The rest of the grace (at least 500 ms) is for close handshakes to finish.
  const deadline = started + Math.max(graceMs, spread + 500);
  while ((ctx.sockets.size > 0 || ctx.streams.size > 0) && performance.now() < deadline) await Bun.sleep(20);
  const leftover = ctx.sockets.size + ctx.streams.size;
  if (leftover > 0) ctx.log.warn(`${leftover} connections did not close within the grace period; closing them now`);
  // Ended streams answered their last request (a polling close packet, an SSE stream's end)
  // just now; stop(true) would cut those connections before the bytes leave.
  if (streamCount > 0) await Bun.sleep(100);
  stopServer();
  let timer: Timer | undefined;
  const timedOut = await Promise.race([
    ctx.engine.close().then(() => false),
    new Promise<boolean>((res) => (timer = setTimeout(() => res(true), engineTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) ctx.log.warn(`engine did not close within ${engineTimeoutMs} ms`);
  return { closed: closers.length, leftover };
}
