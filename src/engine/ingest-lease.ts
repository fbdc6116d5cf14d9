/**
 * Which node takes the Redis-channel emits that must be written to history once. Every node
 * hears each PUBLISH on the ingest channels; with history on, one node (the lease holder)
 * publishes them through the engine (history write, fan-out) and the others leave them to
 * the fan-out. The lease is a key with an expiry, renewed every second by its holder; when the
 * holder dies, another node takes it within LEASE_MS (emits published meanwhile are lost, as
 * pub/sub loses what a dead subscriber was sent). A holder goes by the answer of its last
 * renewal, not by its own clock: a node so busy that its timer runs late must not drop the
 * emits it is the only one to publish (a stall longer than LEASE_MS can publish some twice).
 */
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "../ops/log.ts";

export const LEASE_MS = 5000;
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
  /** Asked Redis at least once since it last failed (a node is not ready before: it would drop ingest emits). */
  known(): boolean;
  close(): Promise<void>;
}

export function createIngestLease(client: Redis | Cluster, prefix: string, log: Logger): IngestLease {
  const key = `${prefix}:ingest-lease`;
  const me = crypto.randomUUID();
  let held = false;
  let closed = false;
  let known = false;
  const c = client as unknown as { eval(script: string, keys: number, ...args: string[]): Promise<number> };
  async function tick() {
    try {
      const mine = (await c.eval(TAKE, 1, key, me, String(LEASE_MS))) === 1;
      known = true;
      const was = held;
      held = mine;
      if (mine !== was && !closed) log.info(mine ? "this node now publishes the Redis-channel emits (history on)" : "another node publishes the Redis-channel emits (history on)");
    } catch (e) {
      held = false;
      known = false;
      log.debug(`ingest lease: ${(e as Error).message}`);
    }
  }
  tick();
  // At once when the connection is (back) up, not at the next tick: emits meanwhile would be dropped.
  client.on("ready", () => void tick());
  const timer = setInterval(tick, RENEW_MS);
  timer.unref?.();
  return {
    held: () => held,
    known: () => known,
    async close() {
      closed = true;
      clearInterval(timer);
      if (held) await c.eval(DROP, 1, key, me).catch(() => {});
      held = false;
    },
  };
}
