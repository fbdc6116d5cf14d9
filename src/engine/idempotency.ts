/**
 * Idempotent publish: the first emit with a given `idempotency_key` within the window goes
 * out, later ones are answered "duplicate" and delivered nowhere. In memory for one node, a
 * `SET key NX PX window` in Redis for many (so a retry that lands on another node is caught).
 */
import type { Cluster, Redis } from "ioredis";

export interface IdempotencyStore {
  /** true: first time within the window (go ahead); false: a repeat. Throws when the store cannot answer. */
  claim(key: string): Promise<boolean>;
  /** Let a claimed key go again (the emit it guarded could not be published). */
  release(key: string): Promise<void>;
  close(): void;
}

/** Longest key accepted (clients pick them; they become Redis keys). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

export function parseIdempotencyKey(x: unknown): { ok: true; value: string | undefined } | { ok: false; error: string } {
  if (x === undefined || x === null) return { ok: true, value: undefined };
  if (typeof x !== "string" || x.length === 0 || x.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    return { ok: false, error: `"idempotency_key" must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` };
  return { ok: true, value: x };
}

export function createMemoryIdempotency(windowMs: number, now: () => number = Date.now): IdempotencyStore {
  const seen = new Map<string, number>();
  // Keys are inserted in time order, so the oldest are first: sweep from the front.
  const sweep = () => {
    const t = now();
    for (const [k, at] of seen) {
      if (t - at < windowMs) break;
      seen.delete(k);
    }
  };
  const timer = setInterval(sweep, Math.min(windowMs, 10_000));
  timer.unref?.();
  return {
    async claim(key) {
      // One window for all keys in memory (a single node has no copies to tell apart).
      const at = seen.get(key);
      if (at !== undefined && now() - at < windowMs) return false;
      seen.delete(key);
      seen.set(key, now());
      return true;
    },
    async release(key) {
      seen.delete(key);
    },
    close: () => clearInterval(timer),
  };
}

export function createRedisIdempotency(client: Redis | Cluster, prefix: string, windowMs: number): IdempotencyStore {
  const k = (key: string) => `${prefix}:idem:${key}`;
  return {
    claim: async (key) => (await client.set(k(key), "1", "PX", windowMs, "NX")) === "OK",
    release: async (key) => void (await client.del(k(key))),
    close() {},
  };
}
