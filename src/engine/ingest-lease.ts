/**
 * Which node takes the Redis-channel emits that must be written to history once. Every node
 * hears each PUBLISH on the ingest channels; with history on, one node (the lease holder)
 * publishes them through the engine (history write, fan-out) and the others leave them to
 * the fan-out. The lease is a key set NX with a short expiry and renewed well before it ends;
 * when its holder dies, another node takes it within LEASE_MS (emits published meanwhile are
 * lost, as pub/sub loses what a dead subscriber was sent).
 */
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "../ops/log.ts";

export const LEASE_MS = 3000;
const RENEW_MS = 1000;

// KEYS: lease. ARGV: me, ms. Take the lease if free, renew it if mine; 1 when it is mine.
const TAKE = `
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;
// KEYS: lease. ARGV: me. Let it go if mine.
const DROP = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface IngestLease {
  /** This node holds the lease now (and so publishes the ingest channels' emits). */
  held(): boolean;
  close(): Promise<void>;
}

export function createIngestLease(client: Redis | Cluster, prefix: string, log: Logger): IngestLease {
  const key = `${prefix}:ingest-lease`;
  const me = crypto.randomUUID();
  let until = 0;
  let closed = false;
  const c = client as unknown as { eval(script: string, keys: number, ...args: string[]): Promise<number> };
  async function tick() {
    const asked = Date.now();
    try {
      const mine = (await c.eval(TAKE, 1, key, me, String(LEASE_MS))) === 1;
      const was = until > Date.now();
      // Counted from when we asked: the lease may have started then.
      until = mine ? asked + LEASE_MS - 200 : 0;
      if (mine !== was && !closed) log.info(mine ? "this node now publishes the Redis-channel emits (history on)" : "another node publishes the Redis-channel emits (history on)");
    } catch (e) {
      until = 0;
      log.debug(`ingest lease: ${(e as Error).message}`);
    }
  }
  tick();
  const timer = setInterval(tick, RENEW_MS);
  timer.unref?.();
  return {
    held: () => until > Date.now(),
    async close() {
      closed = true;
      clearInterval(timer);
      if (until > Date.now()) await c.eval(DROP, 1, key, me).catch(() => {});
      until = 0;
    },
  };
}
