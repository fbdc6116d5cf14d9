/**
 * Interest-based fan-out on one real redis-server with three ws-emit nodes: a node holds the
 * broadcast channel and only the partitions of its clients' rooms (PUBSUB CHANNELS/NUMSUB),
 * lets them go after --redis-unsubscribe-delay, never loses an emit sent right after a join
 * reply (native, Socket.IO, SSE, and a Socket.IO client's own room), and a multi-room emit
 * spanning partitions reaches each client once (native: once per room).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { emit, startNode, until, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";
import { connectSio, emitAck, recorder } from "../helpers/sio.ts";
import { openEventSource } from "../helpers/sse.ts";
import { shardOf } from "../../src/engine/shards.ts";

const P = 64;
const ARGS = ["--redis-canary", "400ms", "--redis-canary-timeout", "300ms", "--redis-unsubscribe-delay", "300ms"];
const chan = (room: string, ns = "/") => `ws-emit:fanout:p${shardOf(ns, room, P)}`;

let redis: RedisServer;
let a: Started, b: Started, c: Started;
beforeAll(async () => {
  redis = await startRedis();
  [a, b, c] = await Promise.all([startNode(redis.url, ARGS), startNode(redis.url, ARGS), startNode(redis.url, ARGS)]);
});
afterAll(async () => {
  await Promise.all([a, b, c].map((n) => n?.stop()));
  await redis?.[Symbol.asyncDispose]();
});

const channels = async () => (await redisCli(redis.port, "PUBSUB", "CHANNELS", "ws-emit:fanout*")).split("\n").filter(Boolean).sort();
const numsub = async (ch: string) => Number((await redisCli(redis.port, "PUBSUB", "NUMSUB", ch)).split("\n")[1]);

/** `n` rooms named `<tag>-<i>`, each in a partition no other room returned so far (in this file) uses. */
const taken = new Set<number>();
function freshRooms(tag: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 10_000; i++) {
    const k = shardOf("/", `${tag}-${i}`, P);
    if (taken.has(k)) continue;
    taken.add(k);
    out.push(`${tag}-${i}`);
  }
  if (out.length < n) throw new Error("ran out of partitions");
  return out;
}

describe("interest-based fan-out (three nodes, one Redis)", () => {
  test("a node holds the broadcast channel and only the partitions of its rooms; released after the delay", async () => {
    expect(await channels()).toEqual(["ws-emit:fanout"]);
    expect(await numsub("ws-emit:fanout")).toBe(3);
    const [ra, rb, shared] = [freshRooms("held-a", 3), freshRooms("held-b", 2), freshRooms("held-ab", 1)];
    const wa = await openWs(`${a.wsUrl}/ws?${[...ra, ...shared].map((r) => `room=${r}`).join("&")}`);
    const wb = await openWs(`${b.wsUrl}/ws?${[...rb, ...shared].map((r) => `room=${r}`).join("&")}`);
    for (const r of [...ra, ...shared]) await wa.next((m) => m.type === "joined" && m.room === r);
    for (const r of [...rb, ...shared]) await wb.next((m) => m.type === "joined" && m.room === r);
    // The join replies came after the subscriptions were confirmed: no waiting needed here.
    expect(await channels()).toEqual(["ws-emit:fanout", ...[...ra, ...rb, ...shared].map((r) => chan(r))].sort());
    for (const r of ra) expect(await numsub(chan(r))).toBe(1);
    for (const r of rb) expect(await numsub(chan(r))).toBe(1);
    expect(await numsub(chan(shared[0]!))).toBe(2);
    // Targeted traffic reaches only the nodes holding the partition: C receives nothing.
    const before = await fanoutIn(c);
    for (const r of [...ra, ...rb]) await emit(a.url, { event: "t", room: r });
    await emit(b.url, { event: "mark", room: rb[0] });
    await wb.next((m) => m.event === "mark");
    expect(await fanoutIn(c)).toBe(before);
    // Leaving: the partitions go once the delay has passed (no event to await: poll Redis, bounded).
    wa.close();
    await until(async () => (await numsub(chan(ra[0]!))) === 0 && (await numsub(chan(shared[0]!))) === 1, "A to release its partitions");
    wb.close();
    await until(async () => (await channels()).length === 1, "every partition released");
    expect(await numsub("ws-emit:fanout")).toBe(3);
  });

  test("an emit sent by another node right after the join reply is never lost (native, Socket.IO, SSE)", async () => {
    const rooms = freshRooms("race", 12);
    // Native: join frames on an open socket, emit from A the moment "joined" arrives on B.
    const w = await openWs(`${b.wsUrl}/ws`);
    for (const [i, room] of rooms.slice(0, 6).entries()) {
      w.send({ type: "join", room, id: i });
      await w.next((m) => m.type === "joined" && m.id === i);
      await emit(a.url, { event: "now", room, data: i });
      expect((await w.next((m) => m.event === "now")).data).toBe(i);
    }
    w.close();
    // Socket.IO: the join's ack, then the emit.
    const s = await connectSio(c.url, { transports: ["websocket"] });
    const got = recorder(s, "now");
    for (const [i, room] of rooms.slice(6, 9).entries()) {
      expect(await emitAck(s, "join", { room })).toEqual({ ok: true });
      await emit(a.url, { event: "now", room, data: i });
      expect(await got.next()).toEqual([i]);
    }
    // A Socket.IO client's own room: an emit to its id from another node, right after connect.
    const own = await connectSio(c.url, { transports: ["websocket"] });
    const ownGot = recorder(own, "direct");
    await emit(a.url, { event: "direct", room: own.id, data: "hi" });
    expect(await ownGot.next()).toEqual(["hi"]);
    s.close();
    own.close();
    // SSE: the stream opens (headers sent) after its rooms' partitions are subscribed.
    for (const room of rooms.slice(9)) {
      const es = openEventSource(`${b.url}/sse?room=${room}`, ["now"]);
      await es.opened;
      await emit(a.url, { event: "now", room, data: room });
      expect((await es.next((e) => e.type === "now")).data).toBe(JSON.stringify(room));
      es.close();
    }
  });

  test("a multi-room emit spanning partitions reaches each client once (Socket.IO, SSE), native once per room", async () => {
    const rooms = freshRooms("span", 4);
    const all = await connectSio(b.url, { transports: ["websocket"] });
    const lastTwo = await connectSio(c.url);
    for (const r of rooms) expect(await emitAck(all, "join", { room: r })).toEqual({ ok: true });
    for (const r of rooms.slice(2)) expect(await emitAck(lastTwo, "join", { room: r })).toEqual({ ok: true });
    const got = [recorder(all, "span"), recorder(lastTwo, "span")];
    const marks = [recorder(all, "mark"), recorder(lastTwo, "mark")];
    const es = openEventSource(`${c.url}/sse?${rooms.map((r) => `room=${r}`).join("&")}`, ["span", "mark"]);
    await es.opened;
    const native = await openWs(`${b.wsUrl}/ws?${rooms.map((r) => `room=${r}`).join("&")}`);
    for (const r of rooms) await native.next((m) => m.type === "joined" && m.room === r);
    for (let i = 0; i < 5; i++) expect((await emit(a.url, { event: "span", rooms, data: i })).body).toMatchObject({ ok: true, cluster: true });
    // A marker per room, after the emits on each room's partition (one publisher: in order).
    for (const r of rooms) await emit(a.url, { event: "mark", room: r });
    for (let i = 0; i < 4; i++) await marks[0]!.next();
    for (let i = 0; i < 2; i++) await marks[1]!.next();
    for (let i = 0; i < 4; i++) await es.next((e) => e.type === "mark");
    for (let i = 0; i < 4; i++) await native.next((m) => m.event === "mark");
    const seq = [[0], [1], [2], [3], [4]];
    expect(got.map((r) => r.got)).toEqual([seq, seq]);
    expect(es.received.filter((e) => e.type === "span").map((e) => e.data)).toEqual(["0", "1", "2", "3", "4"]);
    const nat = native.received.filter((m) => m.event === "span");
    expect(nat.length).toBe(20);
    for (const r of rooms) expect(nat.filter((m) => m.room === r).map((m) => m.data)).toEqual([0, 1, 2, 3, 4]);
    all.close();
    lastTwo.close();
    es.close();
    native.close();
  });
});

/** Emits this node took from the fan-out (its ws_emit_events_in_total{source="cluster"}). */
async function fanoutIn(node: Started): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/ws_emit_events_in_total\{source="cluster"\} (\d+)/.exec(text)?.[1] ?? 0);
}
