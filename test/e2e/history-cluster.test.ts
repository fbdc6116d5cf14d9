/**
 * Room history on a real 3-master Redis Cluster: each room's stream and epoch hash share one
 * hash slot, rooms spread over every master, and a client resumes on the other node.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRedisCluster, type RedisCluster } from "../helpers/redis-cluster.ts";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";

/** Wait until every room has an event with `data` (they come in shard order, not room order). */
async function allRooms(c: TestWs, rooms: string[], data: number) {
  const has = (r: string) => c.received.some((m) => m.type === "event" && m.room === r && m.data === data);
  while (!rooms.every(has)) await c.next(() => true, 10_000);
}

const ARGS = ["--history", "100", "--redis-canary", "500ms", "--redis-canary-timeout", "400ms"];
let cluster: RedisCluster;
let a: Started, b: Started;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  [a, b] = await Promise.all([startWsEmit(["--redis", cluster.url, ...ARGS]), startWsEmit(["--redis", cluster.url, ...ARGS])]);
  await Promise.all([a.waitForLine(/redis fan-out healthy/, 20_000), b.waitForLine(/redis fan-out healthy/, 20_000)]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.[Symbol.asyncDispose]();
}, 30_000);

describe("history on Redis Cluster", () => {
  test("rooms on every shard: multi-room emits get one position per room; a client resumes on the other node, each event once", async () => {
    const rooms = Array.from({ length: 8 }, (_, i) => `hc-${i}`);
    const c1 = await openWs(`${a.wsUrl}/ws?${rooms.map((r) => `room=${r}`).join("&")}`);
    while (c1.received.filter((m) => m.type === "joined").length < rooms.length) await c1.next();
    const first = await emit(b.url, { event: "n", rooms, data: 0 });
    expect(Object.keys(first.body.ids).sort()).toEqual([...rooms].sort());
    await allRooms(c1, rooms, 0);
    const since = rooms.map((r) => c1.received.find((m) => m.type === "event" && m.room === r).id);
    c1.close();
    await c1.closed;
    for (let i = 1; i <= 3; i++) await emit(a.url, { event: "n", rooms, data: i });
    const c2 = await openWs(`${b.wsUrl}/ws?${rooms.map((r, i) => `room=${r}&since=${since[i]}`).join("&")}`);
    await emit(a.url, { event: "n", rooms, data: 4 });
    await allRooms(c2, rooms, 4);
    for (const r of rooms) {
      expect(c2.received.find((m) => m.type === "joined" && m.room === r)).toMatchObject({ recovered: true });
      expect(c2.received.filter((m) => m.type === "event" && m.room === r).map((m) => m.data)).toEqual([1, 2, 3, 4]);
    }
    c2.close();
  }, 30_000);
});
