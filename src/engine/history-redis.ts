/**
 * Room history in Redis, shared by every node: per room a stream of the last N events
 * (`XADD … MAXLEN ~ N`, expiring --history-ttl after the last one) and a small hash holding
 * the room's epoch and top offset (expiring HISTORY_META_TTL_MS after the last event).
 *
 * Offsets are our own counter (HINCRBY), used as the stream ids `<offset>-0`, so consecutive
 * offsets prove that nothing is missing between them. Each room's read and write is one Lua
 * script on its two keys (one hash slot: they share a `{…}` tag), so the epoch, the counter
 * and the stream cannot disagree. A missing hash means its history was lost or never existed
 * (Redis restarted without persistence, the key was evicted or expired): the next write or
 * read starts a new epoch and drops any stream left over from the old one.
 */
import { isConnectError } from "./redis-link.ts";
import { Cluster, Redis } from "ioredis";
import { newEpoch, type Position } from "../core/history-id.ts";
import type { EmitMessage } from "../core/message.ts";
import type { RedisTarget } from "../core/redis-url.ts";
import type { Logger } from "../ops/log.ts";
import { decodeFanout, encodeEmit } from "./fanout-codec.ts";
import { decideRead, HISTORY_META_TTL_MS, roomKey, type HistoryOptions, type HistoryStore, type StoredEvent } from "./history.ts";

// KEYS: meta hash, stream. ARGV: maxlen, stream ttl ms, meta ttl ms, epoch if new, payload, now (ms).
const APPEND = `
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[4]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', e)
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], n .. '-0', 'm', ARGV[5], 't', ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {e, n}`;

// KEYS: meta hash, stream. ARGV: since epoch ("" for none), since offset, size, epoch if new, ttl ms for a new hash.
// A room never written gets its epoch now (kept one stream TTL), so a reader has a position to come back with.
const READ = `
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
  e = ARGV[4]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', e, 'n', 0)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {e, 0, {}}
end
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local since = tonumber(ARGV[2])
if ARGV[1] ~= e or since >= n or n - since > tonumber(ARGV[3]) then return {e, n, {}} end
return {e, n, redis.call('XRANGE', KEYS[2], since + 1, '+', 'COUNT', n - since)}`;

type Scripted = {
  wsEmitHistAppend(meta: string, stream: string, maxlen: number, ttl: number, metaTtl: number, epoch: string, payload: string, now: number): Promise<[string, number]>;
  wsEmitHistRead(meta: string, stream: string, epoch: string, since: number, size: number, newEpoch: string, ttl: number): Promise<[string, number, Array<[string, string[]]>]>;
};

/** The history's own connection (scripts, idempotency keys): kept apart from the fan-out's. */
export function createHistoryClient(target: RedisTarget, commandTimeoutMs: number, log: Logger): Redis | Cluster {
  const common = { commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 1, enableAutoPipelining: true, connectTimeout: 5000 };
  const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);
  const client: Redis | Cluster =
    target.kind === "single"
      ? new Redis(target.url, { ...common, connectionName: "ws-emit-history", enableOfflineQueue: false, retryStrategy })
      : new Cluster(target.nodes, {
          enableOfflineQueue: false,
          enableAutoPipelining: true,
          clusterRetryStrategy: retryStrategy,
          redisOptions: { username: target.username, password: target.password, tls: target.tls ? {} : undefined, ...common },
        });
  // As the other connections: a failed connect is named once by the "reconnecting" warning of
  // an outage; its retries and repeats are debug lines.
  let lastError = "";
  let retrying = false;
  client.on("error", (e: Error) => {
    if (e.message !== lastError && !isConnectError(e)) log.warn(`redis history: ${e.message}`);
    else log.debug(`redis history: ${e.message}`);
    lastError = e.message;
  });
  client.on("reconnecting", (ms: unknown) => {
    const text = `redis history reconnecting${typeof ms === "number" ? ` in ${ms} ms` : ""}${lastError ? ` after "${lastError}"` : ""}`;
    if (retrying) log.debug(text);
    else log.warn(text);
    retrying = true;
  });
  client.on("ready", () => {
    lastError = "";
    retrying = false;
  });
  return client;
}

export function createRedisHistory(client: Redis | Cluster, prefix: string, opts: HistoryOptions): HistoryStore {
  const { size, ttlMs } = opts;
  client.defineCommand("wsEmitHistAppend", { numberOfKeys: 2, lua: APPEND });
  client.defineCommand("wsEmitHistRead", { numberOfKeys: 2, lua: READ });
  const c = client as unknown as Scripted;
  // One hash tag for both keys of a room: same slot on a cluster.
  const keys = (ns: string, room: string) => {
    const tag = `{${roomKey(ns, room)}}`;
    return [`${prefix}:hm:${tag}`, `${prefix}:hs:${tag}`] as const;
  };

  return {
    kind: "redis",
    async append(msg) {
      const out = new Map<string, Position>();
      if (msg.rooms === null) return out;
      // The whole message (every room, except, bytes) as the fan-out carries it.
      const payload = encodeEmit("", msg);
      const epoch = newEpoch();
      const got = await Promise.all(
        msg.rooms.map((room) => {
          const [m, s] = keys(msg.namespace, room);
          return c.wsEmitHistAppend(m, s, size, ttlMs, Math.max(HISTORY_META_TTL_MS, ttlMs), epoch, payload, Date.now());
        }),
      );
      msg.rooms.forEach((room, i) => out.set(room, { epoch: String(got[i]![0]), offset: Number(got[i]![1]) }));
      return out;
    },
    async read(namespace, room, since) {
      const [m, s] = keys(namespace, room);
      const [e, n, entries] = await c.wsEmitHistRead(m, s, since?.epoch ?? "", since?.offset ?? 0, size, newEpoch(), ttlMs);
      // Events older than the TTL are gone as far as readers go (the stream only expires whole).
      const oldest = Date.now() - ttlMs;
      return decideRead({ epoch: String(e), offset: Number(n) }, since, size, () => {
        const got: StoredEvent[] = [];
        for (const [id, fields] of entries) {
          if (fields[2] === "t" && Number(fields[3]) < oldest) return null;
          const f = fields[1] === undefined ? null : decodeFanout(fields[1]);
          // Written by another version or by hand: a gap the reader is told about, not a crash.
          if (!f || !f.ok || f.value.kind !== "emit") return null;
          got.push({ offset: parseInt(id, 10), msg: f.value.msg });
        }
        return got;
      });
    },
    async close() {},
  };
}
