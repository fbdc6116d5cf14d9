/**
 * Per-IP connection rate: a token bucket per client address, checked before an upgrade or a
 * stream is accepted so a single host cannot exhaust sockets or CPU with handshakes.
 * Pure (the clock is injected) and bounded: at most `maxTracked` addresses are remembered;
 * a full bucket carries no information, so the oldest entries go first when the table is full.
 */
import { isLoopback } from "../server/http.ts";

export interface ConnectionRateLimit {
  /** null when admitted; otherwise the seconds until one more connection would be (for Retry-After). */
  take(ip: string): number | null;
  /** Addresses currently tracked (for tests and /stats). */
  readonly size: number;
}

export function createConnectionRateLimit(
  rate: { perSecond: number; burst: number } | null,
  exempt: string[],
  opts: { now?: () => number; maxTracked?: number } = {},
): ConnectionRateLimit {
  const now = opts.now ?? (() => performance.now());
  const maxTracked = opts.maxTracked ?? 100_000;
  const exemptLoopback = exempt.includes("loopback");
  const exemptIps = new Set(exempt.filter((e) => e !== "loopback"));
  /** ip → [tokens, time of last refill in ms] */
  const buckets = new Map<string, [number, number]>();

  return {
    take(ip) {
      if (rate === null) return null;
      if (exemptIps.has(ip) || (exemptLoopback && isLoopback(ip))) return null;
      const t = now();
      let b = buckets.get(ip);
      if (b === undefined) {
        if (buckets.size >= maxTracked) buckets.delete(buckets.keys().next().value!);
        b = [rate.burst, t];
      } else {
        b[0] = Math.min(rate.burst, b[0] + ((t - b[1]) / 1000) * rate.perSecond);
        b[1] = t;
        // Re-insert so Map order is least recently seen first (the eviction order).
        buckets.delete(ip);
      }
      buckets.set(ip, b);
      if (b[0] >= 1) {
        b[0] -= 1;
        return null;
      }
      return (1 - b[0]) / rate.perSecond;
    },
    get size() {
      return buckets.size;
    },
  };
}

/**
 * Does this request open a long-lived connection? WebSocket upgrades (any transport),
 * Server-Sent Events streams, and Socket.IO/Engine.IO polling handshakes (no sid yet).
 * Recognised by protocol, so transports added later are covered without wiring.
 */
export function isConnectionStart(req: Request, url: URL): boolean {
  if (req.method !== "GET") return false;
  const q = url.searchParams;
  // An Engine.IO request with a sid belongs to a session that was already admitted (including
  // its polling → WebSocket upgrade; an unknown sid is refused by Socket.IO). Only on its path,
  // so "?sid=" on another endpoint cannot dodge the limit.
  if (url.pathname.startsWith("/socket.io") && q.has("EIO") && q.has("sid")) return false;
  if ((req.headers.get("upgrade") ?? "").toLowerCase() === "websocket") return true;
  if ((req.headers.get("accept") ?? "").includes("text/event-stream") || url.pathname.endsWith("/sse")) return true;
  return q.has("EIO") && q.get("transport") === "polling";
}
