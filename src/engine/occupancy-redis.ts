/**
 * Cluster occupancy in Redis: O(1) reads, exactly-once transitions, healing after a node dies.
 *
 *   <p>:{occ}:node:<id>    hash room → that node's local subscribers
 *   <p>:{occ}:nmem:<id>    hash room\0sub → that node's local connections of a member
 *   <p>:{occ}:alive:<id>   liveness, SET with PX --occupancy-liveness, refreshed by every batch
 *   <p>:{occ}:live         set of node ids whose contributions are in the totals
 *   <p>:{occ}:total        hash room → subscribers on all nodes   (GET /rooms/<room>, /rooms)
 *   <p>:{occ}:nodes        hash room → nodes with subscribers
 *   <p>:{occ}:m:<room>     hash sub → connections of that member on all nodes (/members)
 *   <p>:{occ}:events       stream of lifecycle events for the webhooks (MAXLEN ~ 100000)
 *
 * A batch is one Lua script (atomic): for each room it swaps the node's old count for the new
 * absolute one and HINCRBYs the totals by the difference; the script that takes a total from
 * 0 to >0 (or back) is the one place that transition happens, so it XADDs the event there and
 * then: exactly once per cluster-wide transition. A node whose alive key expired is taken out by
 * whichever survivor runs the reap script first (the script re-checks liveness, so it runs once);
 * if that node was only slow, its next batch sees its alive key was gone and it sends all its
 * counts again. Every key carries the {occ} hash tag: one slot, so the scripts also run on a
 * Redis Cluster (reads then all go to one master).
 */
import { Cluster, Redis } from "ioredis";
import type { RedisTarget } from "../core/redis-url.ts";
import type { Logger } from "../ops/log.ts";
import type { OccupancyStore, Page, RoomCount, Transition, TransitionType } from "./occupancy.ts";

export const STREAM_MAXLEN = 100_000;
/** Rooms and members per batch script. */
const CHUNK = 500;

export function occupancyKeys(prefix: string) {
  const p = `${prefix}:{occ}`;
  return {
    node: (id: string) => `${p}:node:${id}`,
    nmem: (id: string) => `${p}:nmem:${id}`,
    alive: (id: string) => `${p}:alive:${id}`,
    live: `${p}:live`,
    total: `${p}:total`,
    nodes: `${p}:nodes`,
    memberPrefix: `${p}:m:`,
    events: `${p}:events`,
  };
}

// KEYS: alive, node, nmem, total, nodes, live, events. ARGV: node, ttlMs, hook(0|1), nowMs, member key prefix, …
const COMMON = `
local SEP = string.char(0)
local node, hook, now, mprefix = ARGV[1], ARGV[3] == '1', ARGV[4], ARGV[5]
local out = {}
local function ev(t, r, s)
  out[#out + 1] = t; out[#out + 1] = r; out[#out + 1] = s
  if hook then redis.call('XADD', KEYS[7], 'MAXLEN', '~', '${STREAM_MAXLEN}', '*', 'type', t, 'room', r, 'sub', s, 'node', node, 'time', now) end
end
local function room(r, old, new)
  if old == new then return end
  if new > 0 then redis.call('HSET', KEYS[2], r, new) else redis.call('HDEL', KEYS[2], r) end
  local total = redis.call('HINCRBY', KEYS[4], r, new - old)
  if total <= 0 then redis.call('HDEL', KEYS[4], r) end
  if old == 0 and new > 0 then redis.call('HINCRBY', KEYS[5], r, 1)
  elseif old > 0 and new == 0 and redis.call('HINCRBY', KEYS[5], r, -1) <= 0 then redis.call('HDEL', KEYS[5], r) end
  local before = total - (new - old)
  if before <= 0 and total > 0 then ev('room_occupied', r, '') elseif before > 0 and total <= 0 then ev('room_vacated', r, '') end
end
local function member(r, s, old, new)
  if old == new then return end
  if new > 0 then redis.call('HSET', KEYS[3], r .. SEP .. s, new) else redis.call('HDEL', KEYS[3], r .. SEP .. s) end
  local mk = mprefix .. r
  local total = redis.call('HINCRBY', mk, s, new - old)
  if total <= 0 then redis.call('HDEL', mk, s) end
  local before = total - (new - old)
  if before <= 0 and total > 0 then ev('member_added', r, s) elseif before > 0 and total <= 0 then ev('member_removed', r, s) end
end
`;

// ARGV[6] = number of rooms, then room,count pairs, then room,sub,count triples.
const APPLY = `${COMMON}
local was = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[6], node)
local n, i = tonumber(ARGV[6]), 7
for _ = 1, n do
  room(ARGV[i], tonumber(redis.call('HGET', KEYS[2], ARGV[i])) or 0, tonumber(ARGV[i + 1])); i = i + 2
end
while i <= #ARGV do
  local r, s = ARGV[i], ARGV[i + 1]
  member(r, s, tonumber(redis.call('HGET', KEYS[3], r .. SEP .. s)) or 0, tonumber(ARGV[i + 2])); i = i + 3
end
table.insert(out, 1, was)
return out`;

// ARGV[6] = '1': take out even if alive (this node shutting down).
const REAP = `${COMMON}
if ARGV[6] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local h = redis.call('HGETALL', KEYS[2])
for j = 1, #h, 2 do room(h[j], tonumber(h[j + 1]), 0) end
local m = redis.call('HGETALL', KEYS[3])
for j = 1, #m, 2 do
  local p = string.find(m[j], SEP, 1, true)
  if p then member(string.sub(m[j], 1, p - 1), string.sub(m[j], p + 1), tonumber(m[j + 1]), 0) end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[6], node)
table.insert(out, 1, 1)
return out`;

type Client = (Redis | Cluster) & {
  occApply(...args: Array<string | number>): Promise<unknown[]>;
  occReap(...args: Array<string | number>): Promise<unknown[]>;
};

/** A Redis client for the occupancy store (its own connection, so a slow script never waits behind fan-out). */
export function connectOccupancyRedis(target: RedisTarget, log: Logger, timeoutMs: number, name: string): Redis | Cluster {
  const retryStrategy = (n: number) => Math.min(200 * n, 2000);
  const client =
    target.kind === "single"
      ? new Redis(target.url, { connectionName: name, retryStrategy, maxRetriesPerRequest: 1, connectTimeout: 5000, commandTimeout: timeoutMs, enableOfflineQueue: false })
      : new Cluster(target.nodes, {
          clusterRetryStrategy: retryStrategy,
          enableOfflineQueue: false,
          redisOptions: { username: target.username, password: target.password, tls: target.tls ? {} : undefined, connectTimeout: 5000, commandTimeout: timeoutMs, maxRetriesPerRequest: 1 },
        });
  let last = "";
  client.on("error", (e: Error) => {
    // debug: the engine's own connections already report a Redis outage once.
    if (e.message !== last) log.debug(`redis ${name}: ${e.message}`);
    last = e.message;
  });
  return client;
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\^]/g, (c) => `\\${c}`);

function transitionsOf(flat: unknown[], from: number): Transition[] {
  const out: Transition[] = [];
  for (let i = from; i + 2 < flat.length; i += 3) {
    const sub = String(flat[i + 2]);
    out.push({ type: String(flat[i]) as TransitionType, room: String(flat[i + 1]), ...(sub !== "" ? { sub } : {}) });
  }
  return out;
}

export function createRedisOccupancyStore(o: { client: Redis | Cluster; prefix: string; nodeId: string; livenessMs: number; webhooks: boolean }): OccupancyStore {
  const c = o.client as Client;
  c.defineCommand("occApply", { numberOfKeys: 7, lua: APPLY });
  c.defineCommand("occReap", { numberOfKeys: 7, lua: REAP });
  const k = occupancyKeys(o.prefix);
  const keysOf = (id: string) => [k.alive(id), k.node(id), k.nmem(id), k.total, k.nodes, k.live, k.events];
  const head = (id: string, extra: string) => [id, o.livenessMs, o.webhooks ? "1" : "0", Date.now(), k.memberPrefix, extra];
  let wrote = false;

  /** Take node `id` out of the totals (unless it is alive and not `force`); null when it was alive. */
  const reapOne = async (id: string, force: boolean): Promise<Transition[] | null> => {
    const r = await c.occReap(...keysOf(id), ...head(id, force ? "1" : "0"));
    return Number(r[0]) === 1 ? transitionsOf(r, 1) : null;
  };

  return {
    async apply(rooms, members) {
      // Scripts of at most CHUNK entries: a big batch (a resend after a reap) never blocks Redis
      // for long. Each room's change is atomic on its own, which is all exactly-once needs.
      const transitions: Transition[] = [];
      let lost = false;
      let first = true;
      for (let i = 0, j = 0; first || i < rooms.length || j < members.length; first = false) {
        const rs = rooms.slice(i, i + CHUNK);
        const ms = members.slice(j, j + Math.max(0, CHUNK - rs.length));
        i += rs.length;
        j += ms.length;
        const args: Array<string | number> = [...keysOf(o.nodeId), ...head(o.nodeId, String(rs.length))];
        for (const [room, n] of rs) args.push(room, n);
        for (const [room, sub, n] of ms) args.push(room, sub, n);
        const r = await c.occApply(...args);
        if (first) lost = wrote && Number(r[0]) === 0;
        wrote = true;
        transitions.push(...transitionsOf(r, 1));
      }
      return { transitions, lost };
    },
    async room(key) {
      const [s, n] = await Promise.all([c.hget(k.total, key), c.hget(k.nodes, key)]);
      return { subscribers: Math.max(0, Number(s ?? 0)), nodes: Math.max(0, Number(n ?? 0)) };
    },
    async list(prefix, cursor, count): Promise<Page<RoomCount>> {
      const [next, flat] = await c.hscan(k.total, cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", count);
      const items: RoomCount[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) if (Number(flat[i + 1]) > 0) items.push({ room: flat[i]!, subscribers: Number(flat[i + 1]) });
      return { items, cursor: next };
    },
    async members(key, cursor, count) {
      const [next, flat] = await c.hscan(k.memberPrefix + key, cursor, "COUNT", count);
      const items: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) if (Number(flat[i + 1]) > 0) items.push(flat[i]!);
      return { items, cursor: next };
    },
    async reap() {
      const ids = (await c.smembers(k.live)).filter((id) => id !== o.nodeId);
      const out = { nodes: 0, transitions: [] as Transition[] };
      if (ids.length === 0) return out;
      const alive = await Promise.all(ids.map((id) => c.exists(k.alive(id))));
      for (let i = 0; i < ids.length; i++) {
        if (alive[i] !== 0) continue;
        const t = await reapOne(ids[i]!, false);
        if (t) {
          out.nodes++;
          out.transitions.push(...t);
        }
      }
      return out;
    },
    async close() {
      await reapOne(o.nodeId, true);
    },
  };
}
