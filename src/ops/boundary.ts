/**
 * The one error boundary. Every handler that runs on outside input (HTTP routes, WebSocket
 * open/message/close, Redis messages) is called through `guard`: an exception there is
 * counted in ws_emit_internal_errors_total{where}, logged at most once per `where` every
 * LOG_EVERY_MS (with a count of the ones not logged), and never reaches the event loop, so it
 * can only end the one connection or message that caused it, never the process.
 */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** One log line per `where` per this many ms: a flood of bad frames must not flood the log. */
const LOG_EVERY_MS = 10_000;
/** An error message is cut to this many characters in the log (it may quote client data). */
const MAX_LOGGED_CHARS = 300;

export interface Boundary {
  /** Run `fn`; on an exception count and log it, run `onError` (also guarded) and return undefined. */
  guard<T>(where: string, fn: () => T, onError?: (e: unknown) => void): T | undefined;
  /** Report an error caught elsewhere (a rejected promise) under `where`. */
  report(where: string, e: unknown): void;
}

export function createBoundary(log: Pick<Logger, "error">, metrics: Pick<Metrics, "inc">, now: () => number = Date.now): Boundary {
  const lastLogged = new Map<string, { at: number; skipped: number }>();
  function report(where: string, e: unknown): void {
    metrics.inc("ws_emit_internal_errors_total", { where });
    const t = now();
    const seen = lastLogged.get(where);
    if (seen && t - seen.at < LOG_EVERY_MS) {
      seen.skipped++;
      return;
    }
    const skipped = seen?.skipped ?? 0;
    lastLogged.set(where, { at: t, skipped: 0 });
    log.error(`internal error in ${where}: ${describe(e)}${skipped ? ` (${skipped} more since the last report)` : ""}`);
  }
  return {
    report,
    guard(where, fn, onError) {
      try {
        return fn();
      } catch (e) {
        report(where, e);
        if (onError) {
          try {
            onError(e);
          } catch (e2) {
            report(`${where}/cleanup`, e2);
          }
        }
        return undefined;
      }
    },
  };
}

/** The error's name, message (cut) and first stack frame: one line, no client data beyond the cut. */
export function describe(e: unknown): string {
  if (!(e instanceof Error)) return `non-error thrown (${typeof e})`;
  let msg = `${e.name}: ${e.message}`;
  if (msg.length > MAX_LOGGED_CHARS) msg = `${msg.slice(0, MAX_LOGGED_CHARS)}… (${msg.length} chars)`;
  const frame = e.stack?.split("\n").find((l) => l.trim().startsWith("at "))?.trim();
  return frame ? `${msg} ${frame}` : msg;
}
