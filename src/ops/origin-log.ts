/**
 * A refused browser Origin in the log: which origin, the --cors list, and the localhost vs
 * 127.0.0.1 hint (the mix-up every user of the original hit). Rate-limited per origin, since a
 * page retrying forever would otherwise flood the log; the counter is kept by the caller's metric.
 */
import type { OriginPolicy } from "../auth/origin.ts";
import type { Logger } from "./log.ts";

const EVERY_MS = 10_000;
/** Origins remembered for rate limiting; past this the memory is reset (a flood of distinct origins). */
const MAX_TRACKED = 1000;

/** The origin as it may be shown: bounded, printable ASCII only. */
export function showOrigin(origin: string | null): string {
  if (origin === null) return "(none)";
  const s = origin.slice(0, 200).replace(/[^\x20-\x7e]/g, "?");
  return origin.length > 200 ? `${s}…` : s;
}

/** The same origin with localhost ↔ 127.0.0.1 ↔ [::1] swapped, when one of those is allowed. */
export function loopbackTwin(origin: string, policy: OriginPolicy): string | null {
  const m = /^(https?:\/\/)(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/?$/i.exec(origin.trim());
  if (!m) return null;
  for (const h of ["localhost", "127.0.0.1", "[::1]"]) {
    if (h === m[2]!.toLowerCase()) continue;
    const twin = `${m[1]}${h}${m[3] ?? ""}`;
    if (policy.allows(twin)) return twin;
  }
  return null;
}

export function createOriginLog(log: Logger, cors: string[], policy: OriginPolicy, now: () => number = Date.now) {
  const seen = new Map<string, { at: number; skipped: number }>();
  return {
    /** Call for every refused request; logs at most one line per origin per 10 s. */
    refused(origin: string | null) {
      const key = showOrigin(origin);
      const t = now();
      const s = seen.get(key);
      if (s && t - s.at < EVERY_MS) {
        s.skipped++;
        return;
      }
      if (seen.size >= MAX_TRACKED) seen.clear();
      seen.set(key, { at: t, skipped: 0 });
      const twin = origin === null ? null : loopbackTwin(origin, policy);
      const hint = twin
        ? `; ${twin} is allowed, but localhost, 127.0.0.1 and [::1] are different origins to a browser: add ${key} to --cors too`
        : "; add it to --cors if that page is yours";
      const more = s && s.skipped > 0 ? ` (${s.skipped} more from it since the last line)` : "";
      log.warn(`refused a browser connection from origin ${key}: not in --cors (${cors.join(" ")})${hint}${more}`);
    },
  };
}
