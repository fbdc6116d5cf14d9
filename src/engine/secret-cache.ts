/**
 * A small read-through cache for roomspace secrets. Pure (the clock is injected).
 *
 * Positive and negative answers are kept `ttlMs`, so a join storm costs one lookup per
 * roomspace per TTL, and a changed or deleted key takes effect within the TTL. Concurrent
 * lookups of one key share one in-flight request. Failures are not cached: the next join
 * asks again (and fails fast while the store is down).
 */

export interface SecretCache {
  get(name: string): Promise<string | null>;
  /** Forget one entry (after this node changed it). */
  invalidate(name: string): void;
  readonly size: number;
}

export function createSecretCache(
  fetch: (name: string) => Promise<string | null>,
  opts: { ttlMs: number; maxEntries?: number; now?: () => number },
): SecretCache {
  const now = opts.now ?? Date.now;
  const max = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { value: string | null; expires: number }>();
  const inflight = new Map<string, { p: Promise<string | null>; stale: boolean }>();

  return {
    get(name) {
      const e = entries.get(name);
      if (e && e.expires > now()) return Promise.resolve(e.value);
      const pending = inflight.get(name);
      if (pending && !pending.stale) return pending.p;
      const flight = { p: null as unknown as Promise<string | null>, stale: false };
      flight.p = fetch(name)
        .then((value) => {
          // A lookup that raced with a change on this node must not cache the old value.
          if (opts.ttlMs > 0 && !flight.stale) {
            entries.delete(name); // re-insert at the end: Map order is the eviction order
            entries.set(name, { value, expires: now() + opts.ttlMs });
            if (entries.size > max) entries.delete(entries.keys().next().value!);
          }
          return value;
        })
        .finally(() => {
          if (inflight.get(name) === flight) inflight.delete(name);
        });
      inflight.set(name, flight);
      return flight.p;
    },
    invalidate(name) {
      entries.delete(name);
      const f = inflight.get(name);
      if (f) f.stale = true;
    },
    get size() {
      return entries.size;
    },
  };
}
