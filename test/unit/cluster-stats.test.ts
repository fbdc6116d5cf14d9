/**
 * The cluster /stats view without Redis: the snapshot codec and its bounds, summing nodes,
 * the node registry over an in-memory stand-in for Redis, and the writer/reader's behaviour
 * when Redis cannot answer.
 */
import { describe, expect, test } from "bun:test";
import {
  describeNode,
  CLUSTER_TOP_ROOMS,
  createClusterStats,
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_MAX_ROOMS,
  summarize,
  topRooms,
  type NodeSnapshot,
} from "../../src/ops/cluster-stats.ts";
import { createMembership } from "../../src/ops/cluster-membership.ts";
import { resolveConfig } from "../../src/core/config.ts";
import { createNodeRegistry, nodeKeys, type NodeRegistry } from "../../src/engine/node-registry.ts";
import type { NodeOps } from "../../src/engine/redis-link.ts";
import { createLogger } from "../../src/ops/log.ts";
import { createMetrics } from "../../src/ops/metrics.ts";

const snap = (id: string, extra: Partial<NodeSnapshot> = {}): NodeSnapshot => ({
  v: 1,
  id,
  at: 1_000_000,
  ttl_ms: 15_000,
  version: "0.1.0",
  pid: 1,
  uptime_s: 10,
  draining: false,
  connections: 0,
  connections_by_transport: {},
  rooms: 0,
  top_rooms: [],
  rates_1m: { events_in_per_s: 0, deliveries_per_s: 0 },
  ...extra,
});

describe("topRooms", () => {
  test("the k largest, largest first, ties by name; same as sorting everything", () => {
    const rooms = new Map(Array.from({ length: 1000 }, (_, i) => [`r${i}`, (i * 7919) % 101] as [string, number]));
    const all = [...rooms].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    expect(topRooms(rooms, 10)).toEqual(all.slice(0, 10));
    expect(topRooms(rooms, 2000)).toEqual(all);
    expect(topRooms(new Map(), 5)).toEqual([]);
  });
});

describe("snapshot codec", () => {
  test("round-trips; a stray or foreign value is an error, never a throw", () => {
    const s = snap("n1", { connections: 3, connections_by_transport: { native: 3 }, rooms: 2, top_rooms: [["a", 2], ["b", 1]] });
    expect(decodeSnapshot(encodeSnapshot(s))).toEqual({ ok: true, value: s });
    for (const bad of ["", "{", "[]", "null", JSON.stringify({ ...s, v: 2 }), JSON.stringify({ ...s, connections: -1 }), JSON.stringify({ ...s, top_rooms: [["a"]] }), JSON.stringify({ ...s, rates_1m: null }), JSON.stringify({ ...s, connections_by_transport: { x: "1" } })])
      expect(decodeSnapshot(bad).ok).toBe(false);
  });

  test("bounded: at most SNAPSHOT_MAX_ROOMS rooms, and the smallest go first past the byte cap", () => {
    const many = Array.from({ length: 2000 }, (_, i) => [`room-${String(i).padStart(4, "0")}`, 2000 - i] as [string, number]);
    const s = snap("n1", { rooms: 2000, top_rooms: many });
    const d = decodeSnapshot(encodeSnapshot(s));
    expect(d.ok && d.value.top_rooms.length).toBe(SNAPSHOT_MAX_ROOMS);
    const long = many.map(([r, n]) => [r + "x".repeat(190), n] as [string, number]);
    const text = encodeSnapshot(snap("n1", { rooms: 2000, top_rooms: long }), 16 * 1024);
    expect(text.length).toBeLessThanOrEqual(16 * 1024);
    const d2 = decodeSnapshot(text);
    expect(d2.ok && d2.value.top_rooms[0]).toEqual(long[0]!);
    expect(d2.ok && d2.value.rooms).toBe(2000);
  });
});

describe("summarize", () => {
  const self = snap("self", { connections: 2, connections_by_transport: { native: 2 }, rooms: 2, top_rooms: [["shared", 1], ["mine", 1]], rates_1m: { events_in_per_s: 1.5, deliveries_per_s: 3 } });
  const other = snap("other", { connections: 3, connections_by_transport: { native: 1, sse: 2 }, rooms: 2, top_rooms: [["shared", 2], ["theirs", 1]], rates_1m: { events_in_per_s: 0.25, deliveries_per_s: 4 } });
  const entry = (s: NodeSnapshot, ttlLeftMs = 12_000) => ({ id: s.id, snapshot: encodeSnapshot(s), ttlLeftMs });

  test("sums nodes, rooms and rates; this node's live numbers replace its stored ones", () => {
    const stale = snap("self", { connections: 99, top_rooms: [["old", 50]], rooms: 1 });
    const v = summarize(self, [entry(other), entry(stale)], { now: 1_000_000 });
    expect(v).toEqual({
      available: true,
      name: null,
      nodes: [
        { id: "self", self: true, age_s: 0, version: "0.1.0", pid: 1, uptime_s: 10, draining: false, connections: 2, rooms: 2 },
        { id: "other", age_s: 3, version: "0.1.0", pid: 1, uptime_s: 10, draining: false, connections: 3, rooms: 2 },
      ],
      node_count: 2,
      connections: 5,
      connections_by_transport: { native: 3, sse: 2 },
      rooms: 3,
      rooms_exact: true,
      top_rooms: { shared: 3, mine: 1, theirs: 1 },
      rates_1m: { events_in_per_s: 1.75, deliveries_per_s: 7 },
    });
    expect(Object.keys((v as { top_rooms: object }).top_rooms)[0]).toBe("shared");
  });

  test("a truncated snapshot makes room counts a lower bound; unreadable snapshots are counted, not fatal", () => {
    const truncated = snap("big", { rooms: 5000, top_rooms: [["x", 9]] });
    const v = summarize(self, [entry(truncated), { id: "junk", snapshot: "{", ttlLeftMs: 100 }, { id: "liar", snapshot: encodeSnapshot(snap("other")), ttlLeftMs: 100 }], { now: 0 });
    expect(v).toMatchObject({ available: true, node_count: 2, rooms_exact: false, unreadable: 2 });
  });

  test("at most CLUSTER_TOP_ROOMS rooms listed; the room count is of all of them", () => {
    const rooms = Array.from({ length: 300 }, (_, i) => [`r${i}`, 1] as [string, number]);
    const v = summarize(snap("self", { rooms: 300, top_rooms: rooms }), [], { now: 0 });
    expect(v.available && Object.keys(v.top_rooms).length).toBe(CLUSTER_TOP_ROOMS);
    expect(v.available && v.rooms).toBe(300);
  });
});

/** An in-memory Redis for the registry's commands, with PX expiry on a fake clock. */
function memoryOps(clock: { t: number }): NodeOps & { strings: Map<string, { v: string; exp: number }>; zsets: Map<string, Map<string, number>>; down: boolean } {
  const strings = new Map<string, { v: string; exp: number }>();
  const zsets = new Map<string, Map<string, number>>();
  const ops = {
    strings,
    zsets,
    down: false,
    check() {
      if (ops.down) throw new Error("Connection is closed.");
    },
    live(k: string) {
      const e = strings.get(k);
      if (e && e.exp <= clock.t) strings.delete(k);
      return strings.get(k);
    },
    async setPx(k: string, v: string, ms: number) {
      ops.check();
      strings.set(k, { v, exp: clock.t + ms });
    },
    async getWithTtl(keys: string[]) {
      ops.check();
      return keys.map((k) => {
        const e = ops.live(k);
        return e ? { value: e.v, pttl: e.exp - clock.t } : { value: null, pttl: -2 };
      });
    },
    async del(k: string) {
      ops.check();
      strings.delete(k);
    },
    async zadd(k: string, score: number, m: string) {
      ops.check();
      if (!zsets.has(k)) zsets.set(k, new Map());
      zsets.get(k)!.set(m, score);
    },
    async ztop(k: string, count: number) {
      ops.check();
      return [...(zsets.get(k) ?? [])].sort((a, b) => a[1] - b[1]).slice(-count).map((e) => e[0]);
    },
    async zrem(k: string, m: string) {
      ops.check();
      zsets.get(k)?.delete(m);
    },
    async zprune(k: string, max: number) {
      ops.check();
      for (const [m, s] of zsets.get(k) ?? []) if (s < max) zsets.get(k)!.delete(m);
    },
  };
  return ops;
}

describe("node registry", () => {
  test("put, list, expiry, remove; keys under the prefix", async () => {
    const clock = { t: 1_000_000 };
    const ops = memoryOps(clock);
    const a = createNodeRegistry(ops, "p", "a", () => true, () => clock.t);
    const b = createNodeRegistry(ops, "p", "b", () => true, () => clock.t);
    await a.put("A", 1500);
    await b.put("B", 3000);
    expect(nodeKeys("p")).toMatchObject({ index: "p:nodes" });
    expect([...ops.strings.keys()].sort()).toEqual(["p:nodes:a", "p:nodes:b"]);
    expect(await a.list(10)).toEqual([
      { id: "a", snapshot: "A", ttlLeftMs: 1500 },
      { id: "b", snapshot: "B", ttlLeftMs: 3000 },
    ]);
    // a stops writing: gone when its key expires, and the reader drops it from the index.
    clock.t += 2000;
    expect((await b.list(10)).map((e) => e.id)).toEqual(["b"]);
    await Bun.sleep(0);
    expect([...ops.zsets.get("p:nodes")!.keys()]).toEqual(["b"]);
    // b drains: its key and index entry go at once; a later put does nothing.
    await b.remove();
    await b.put("again", 1000);
    expect(ops.strings.size).toBe(0);
    expect(ops.zsets.get("p:nodes")!.size).toBe(0);
  });

  test("list takes the most recently refreshed nodes first when capped", async () => {
    const clock = { t: 0 };
    const ops = memoryOps(clock);
    for (const id of ["x", "y", "z"]) {
      clock.t += 10;
      await createNodeRegistry(ops, "p", id, () => true, () => clock.t).put(id, 1000);
    }
    expect((await createNodeRegistry(ops, "p", "me", () => true).list(2)).map((e) => e.id)).toEqual(["y", "z"]);
  });
});

describe("createClusterStats", () => {
  const log = createLogger("silent", "pretty");
  const base = () => ({ version: "0.1.0", pid: 1, uptime_s: 1, draining: false, connections: 1, connections_by_transport: { native: 1 }, rooms: 1, top_rooms: [["r", 1]] as Array<[string, number]>, rates_1m: { events_in_per_s: 0, deliveries_per_s: 0 } });

  test("writes at once, then the view sums the stored nodes", async () => {
    const clock = { t: Date.now() };
    const ops = memoryOps(clock);
    const other = createNodeRegistry(ops, "p", "other", () => true);
    await other.put(encodeSnapshot(snap("other", { connections: 4, connections_by_transport: { sse: 4 }, rooms: 1, top_rooms: [["r", 4]] })), 15_000);
    const registry = createNodeRegistry(ops, "p", "me", () => true);
    const cs = createClusterStats({ registry, intervalMs: 5000, snapshot: base, log, metrics: createMetrics() });
    await cs.write();
    expect(JSON.parse(ops.strings.get("p:nodes:me")!.v)).toMatchObject({ v: 1, id: "me", ttl_ms: 15_000, connections: 1 });
    expect(await cs.view()).toMatchObject({ available: true, node_count: 2, connections: 5, top_rooms: { r: 5 } });
    cs.close();
  });

  test("Redis failing: the view says unavailable, failures are counted; not connected: nothing is tried", async () => {
    const ops = memoryOps({ t: 0 });
    ops.down = true;
    const metrics = createMetrics();
    let connected = true;
    const registry: NodeRegistry = createNodeRegistry(ops, "p", "me", () => connected);
    const cs = createClusterStats({ registry, intervalMs: 5000, snapshot: base, log, metrics });
    await cs.write();
    expect(await cs.view()).toEqual({ available: false, name: null, error: "Redis cannot answer: Connection is closed." });
    expect(metrics.get("ws_emit_stats_snapshot_errors_total", { op: "read" })).toBe(1);
    expect(metrics.get("ws_emit_stats_snapshot_errors_total", { op: "write" })).toBeGreaterThanOrEqual(1);
    connected = false;
    const writes = metrics.get("ws_emit_stats_snapshot_errors_total", { op: "write" });
    await cs.write();
    expect(await cs.view()).toEqual({ available: false, name: null, error: "Redis is not connected" });
    expect(metrics.get("ws_emit_stats_snapshot_errors_total", { op: "write" })).toBe(writes);
    cs.close();
  });
});

describe("--stats-interval", () => {
  test("default 5 s; flag and env; bounds name the flag", () => {
    const d = resolveConfig({ flags: {}, env: {}, file: null });
    expect(d.ok && d.config.statsIntervalMs).toBe(5000);
    const f = resolveConfig({ flags: { "stats-interval": ["2s"] }, env: {}, file: null });
    expect(f.ok && f.config.statsIntervalMs).toBe(2000);
    const e = resolveConfig({ flags: {}, env: { WS_EMIT_STATS_INTERVAL: "750ms" }, file: null });
    expect(e.ok && e.config.statsIntervalMs).toBe(750);
    const bad = resolveConfig({ flags: { "stats-interval": ["100ms"] }, env: {}, file: null });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues[0]).toMatch(/^--stats-interval: must be between 500 ms/);
    const bad2 = resolveConfig({ flags: {}, env: { WS_EMIT_STATS_INTERVAL: "often" }, file: null });
    expect(!bad2.ok && bad2.issues[0]).toMatch(/^environment variable WS_EMIT_STATS_INTERVAL: expected a duration/);
  });
});

describe("membership log lines", () => {
  const e = (id: string, host?: string) => ({ id, snapshot: encodeSnapshot(snap(id, host ? { host } : {})), ttlLeftMs: 1000 });
  test("first look names the nodes joined; later looks name who joined and left", () => {
    const m = createMembership("me", "cluster prod", describeNode);
    expect(m.update([e("me")])).toEqual(["cluster prod: no other node yet (this is the first)"]);
    expect(m.update([e("me"), e("b", "box2")])).toEqual(["cluster prod: b (box2, pid 1) joined (2 nodes now)"]);
    expect(m.update([e("me"), e("b", "box2")])).toEqual([]);
    expect(m.update([e("c")])).toEqual(["cluster prod: c (pid 1) joined (2 nodes now)", "cluster prod: b (box2, pid 1) left (2 nodes now)"]);
    const first = createMembership("me", "cluster x", describeNode);
    expect(first.update([e("a"), e("b")])).toEqual(["cluster x: joined 2 other nodes: a (pid 1), b (pid 1)"]);
  });
});
