/**
 * ws-emit nodes on a real 3-master Redis Cluster: the fan-out uses sharded pub/sub
 * (SPUBLISH/SSUBSCRIBE) over partition channels spread across every master, each node holding
 * only the partitions of its rooms, rooms on every shard
 * get each emit exactly once and in order, and roomspace secrets are read from the cluster.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRedisCluster, type RedisCluster } from "../helpers/redis-cluster.ts";
import { freePort, redisCli } from "../helpers/redis.ts";
import { emit, startWsEmit, until, type Started } from "../helpers/server.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";
import { connectSio, emitAck, recorder } from "../helpers/sio.ts";
import { openEventSource } from "../helpers/sse.ts";
import { shardOf } from "../../src/engine/shards.ts";

const FAST = ["--secret-cache", "300ms", "--redis-canary", "500ms", "--redis-canary-timeout", "400ms"];

let cluster: RedisCluster;
let a: Started, b: Started;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  [a, b] = await Promise.all([startWsEmit(["--redis", cluster.url, ...FAST]), startWsEmit(["--redis", cluster.url, ...FAST])]);
  await Promise.all([a.waitForLine(/redis fan-out healthy/, 20_000), b.waitForLine(/redis fan-out healthy/, 20_000)]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.[Symbol.asyncDispose]();
});

describe("Redis Cluster (sharded pub/sub)", () => {
  test("the fan-out channels are sharded channels: the broadcast one on both nodes, a room partition only on the node with its rooms", async () => {
    expect(a.lines.join("\n")).toContain("rooms on 64 partition channels {ws-emit:fanout:p0}");
    // Rooms of A and of B in disjoint partitions, spread over the masters.
    const [roomsA, roomsB] = [[], []] as [string[], string[]];
    const used = new Set<number>();
    for (let i = 0; roomsA.length + roomsB.length < 12; i++) {
      const k = shardOf("/", `own-${i}`, 64);
      if (used.has(k)) continue;
      used.add(k);
      (roomsA.length <= roomsB.length ? roomsA : roomsB).push(`own-${i}`);
    }
    const wsA = await openWs(`${a.wsUrl}/ws?${roomsA.map((r) => `room=${r}`).join("&")}`);
    const wsB = await openWs(`${b.wsUrl}/ws?${roomsB.map((r) => `room=${r}`).join("&")}`);
    for (const room of roomsA) await wsA.next((m) => m.type === "joined" && m.room === room);
    for (const room of roomsB) await wsB.next((m) => m.type === "joined" && m.room === room);
    const perMaster = await Promise.all(cluster.ports.map((p) => redisCli(p, "PUBSUB", "SHARDCHANNELS", "{ws-emit:fanout*")));
    const channels = perMaster.map((out) => out.split("\n").filter(Boolean));
    // The partitions held spread over every master.
    for (const list of channels) expect(list.length).toBeGreaterThan(0);
    const chan = (r: string) => `{ws-emit:fanout:p${shardOf("/", r, 64)}}`;
    expect(channels.flat().sort()).toEqual(["{ws-emit:fanout}", ...roomsA.map(chan), ...roomsB.map(chan)].sort());
    const numsub = async (ch: string) => {
      for (const p of cluster.ports) {
        const [, n] = (await redisCli(p, "PUBSUB", "SHARDNUMSUB", ch)).split("\n");
        if (n !== "0") return Number(n);
      }
      return 0;
    };
    expect(await numsub("{ws-emit:fanout}")).toBe(2);
    for (const r of [...roomsA, ...roomsB]) expect(await numsub(chan(r))).toBe(1);
    wsA.close();
    wsB.close();
  });

  test("emits to rooms spread over all shards arrive exactly once and in order on both nodes", async () => {
    const rooms = Array.from({ length: 24 }, (_, i) => `room-${i}`);
    const clients: Array<{ room: string; c: TestWs }> = [];
    for (const room of rooms)
      for (const node of [a, b]) {
        const c = await openWs(`${node.wsUrl}/ws?room=${room}`);
        expect(await c.next()).toEqual({ type: "joined", room });
        clients.push({ room, c });
      }
    for (let i = 0; i < 3; i++)
      for (const room of rooms) {
        const r = await emit(a.url, { event: "hit", room, data: i });
        expect(r.body).toMatchObject({ ok: true, delivered: 1, cluster: true });
      }
    // One emit to every room at once: split by shard, still once per room.
    const multi = await emit(a.url, { event: "multi", rooms, data: "m" });
    expect(multi.body).toMatchObject({ ok: true, delivered: rooms.length, cluster: true });
    // Per-room markers through B after A's publishes were taken: a duplicate would precede them.
    for (const room of rooms) await emit(b.url, { event: "mark", room });
    for (const { room, c } of clients) {
      // B's own clients get B's marker locally, maybe before A's emits arrive through Redis:
      // wait for both, in either order.
      for (const ev of ["multi", "mark"]) if (!c.received.some((m) => m.event === ev)) await c.next((m) => m.event === ev, 10_000);
      const evs = c.received.filter((m) => m.type === "event");
      expect(evs.filter((m) => m.event === "hit").map((m) => m.data)).toEqual([0, 1, 2]);
      expect(evs.filter((m) => m.event === "multi")).toEqual([{ type: "event", room, event: "multi", data: "m" }]);
      c.close();
    }
  }, 60_000);

  test("a multi-room emit split over shards reaches a Socket.IO socket and an SSE stream in several of its rooms once", async () => {
    // Three rooms on three different shards: the emit travels as three parts.
    const rooms: string[] = [];
    const shards = new Set<number>();
    for (let i = 0; rooms.length < 3; i++) {
      const k = shardOf("/", `split-${i}`, 64);
      if (!shards.has(k)) (shards.add(k), rooms.push(`split-${i}`));
    }
    const all = await connectSio(b.url, { transports: ["websocket"] });
    const lastTwo = await connectSio(b.url, { transports: ["websocket"] });
    for (const room of rooms) expect(await emitAck(all, "join", { room })).toEqual({ ok: true });
    for (const room of rooms.slice(1)) expect(await emitAck(lastTwo, "join", { room })).toEqual({ ok: true });
    const got = [recorder(all, "split"), recorder(lastTwo, "split")];
    const marks = [recorder(all, "mark"), recorder(lastTwo, "mark")];
    const sse = openEventSource(`${b.url}/sse?${rooms.map((r) => `room=${r}`).join("&")}`, ["split", "mark"]);
    await sse.opened;
    const native = await openWs(`${b.wsUrl}/ws?${rooms.map((r) => `room=${r}`).join("&")}`);
    for (const room of rooms) await native.next((m) => m.type === "joined" && m.room === room);
    expect((await emit(a.url, { event: "split", rooms, data: "s" })).body).toMatchObject({ ok: true, cluster: true });
    // A marker per room: each travels on its room's shard after that shard's part.
    for (const room of rooms) await emit(a.url, { event: "mark", room });
    for (let i = 0; i < 3; i++) await marks[0]!.next(10_000);
    for (let i = 0; i < 2; i++) await marks[1]!.next(10_000);
    for (let i = 0; i < 3; i++) await sse.next((e) => e.type === "mark", 10_000);
    for (let i = 0; i < 3; i++) await native.next((m) => m.event === "mark", 10_000);
    expect(got.map((r) => r.got)).toEqual([[["s"]], [["s"]]]);
    expect(sse.received.filter((e) => e.type === "split")).toEqual([{ type: "split", data: '"s"' }]);
    expect(native.received.filter((m) => m.event === "split").map((m) => m.room).sort()).toEqual([...rooms].sort());
    for (const s of [all, lastTwo]) s.close();
    sse.close();
    native.close();
  }, 30_000);

  test("/stats on either node shows both nodes from their snapshots on the cluster", async () => {
    const ids = await Promise.all([a, b].map(async (n) => ((await (await fetch(`${n.url}/stats`)).json()) as any).node as string));
    const c = await openWs(`${b.wsUrl}/ws?room=stats-room`);
    await c.next((m) => m.type === "joined");
    // Each node writes its snapshot once Redis is connected (then every 5 s); B's own numbers are live.
    let sb: any;
    for (let i = 0; i < 50; i++) {
      sb = await (await fetch(`${b.url}/stats`)).json();
      if (sb.cluster?.node_count === 2) break;
      await Bun.sleep(100); // a timer writes the snapshots: no event to await
    }
    expect(sb.cluster).toMatchObject({ available: true, node_count: 2, top_rooms: { "stats-room": 1 } });
    expect(sb.cluster.nodes.map((x: any) => x.id).sort()).toEqual([...ids].sort());
    const sa = (await (await fetch(`${a.url}/stats`)).json()) as any;
    expect(sa.cluster).toMatchObject({ available: true, node_count: 2 });
    // The snapshot keys live on whichever master owns them; the index lists both.
    expect((await redisCli(cluster.ports[0]!, "-c", "ZRANGE", "ws-emit:nodes", "0", "-1")).split("\n").sort()).toEqual([...ids].sort());
    c.close();
  });

  test("broadcast crosses nodes once", async () => {
    const ca = await openWs(`${a.wsUrl}/ws`);
    const cb = await openWs(`${b.wsUrl}/ws`);
    await emit(a.url, { event: "all", data: 1 });
    await emit(b.url, { event: "all", data: 2 });
    // Two publishers on two nodes: each event arrives once, but their relative order is not
    // promised (B delivers its own emit locally before A's arrives through Redis).
    for (const c of [ca, cb]) {
      const got = [(await c.next((m) => m.event === "all")).data, (await c.next((m) => m.event === "all")).data];
      expect(got.sort()).toEqual([1, 2]);
    }
    // No third copy: the next "all"-or-"end" event each client sees is the marker.
    await emit(a.url, { event: "end", data: 0 });
    for (const c of [ca, cb]) expect((await c.next((m) => m.event === "all" || m.event === "end")).event).toBe("end");
    ca.close();
    cb.close();
  });

  test("Redis ingest on the cluster: not only through the URL's first node; PUBLISH on any master and SPUBLISH each arrive once", async () => {
    // The URL's first node is down: the ingest still subscribes through the others.
    const dead = await freePort();
    const c = await startWsEmit(["--redis", cluster.url.replace("redis+cluster://", `redis+cluster://127.0.0.1:${dead},`), ...FAST]);
    try {
      await c.waitForLine(/redis fan-out healthy/, 20_000);
      await c.waitForLine(/\[redis-ingest\] subscribed to/, 20_000);
      await c.waitForLine(/sharded ingest: SSUBSCRIBE/, 20_000);
      await a.waitForLine(/sharded ingest: SSUBSCRIBE/, 20_000);
      const clients = await Promise.all([a, b, c].map((n) => openWs(`${n.wsUrl}/ws?room=ingest`)));
      for (const cl of clients) await cl.next((m) => m.type === "joined");
      // Classic PUBLISH through each master in turn, then a sharded SPUBLISH (redis-cli -c follows MOVED).
      for (const [i, p] of cluster.ports.entries()) await redisCli(p, "PUBLISH", "ws-emit", JSON.stringify({ event: "in", room: "ingest", data: i }));
      await redisCli(cluster.ports[0]!, "-c", "SPUBLISH", "ws-emit", JSON.stringify({ event: "in", room: "ingest", data: "sharded" }));
      await redisCli(cluster.ports[0]!, "-c", "SPUBLISH", "ws-emit", JSON.stringify({ event: "end", room: "ingest" }));
      for (const cl of clients) {
        await cl.next((m) => m.event === "end", 10_000);
        expect(cl.received.filter((m) => m.event === "in").map((m) => m.data).sort()).toEqual([0, 1, 2, "sharded"].sort());
        cl.close();
      }
    } finally {
      await c.stop();
    }
  }, 60_000);

  test("roomspace secrets are read from the cluster", async () => {
    expect(await redisCli(cluster.ports[0]!, "-c", "SET", "ws-emit::secret::dir", "CS")).toBe("OK");
    for (const node of [a, b]) {
      const c = await openWs(`${node.wsUrl}/ws`);
      c.send({ type: "join", room: "dir::f", secret: "wrong", id: 1 });
      expect(await c.next((m) => m.id === 1)).toMatchObject({ type: "error", code: "forbidden" });
      c.send({ type: "join", room: "dir::f", secret: "CS", id: 2 });
      expect(await c.next((m) => m.id === 2)).toEqual({ type: "joined", room: "dir::f", id: 2 });
      c.close();
    }
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
  });

  test("a stalled shard fails its canary, the subscriber is replaced, and fan-out recovers", async () => {
    // Rooms in partitions on every master, so that A holds a channel on the paused one.
    const held = Array.from({ length: 24 }, (_, i) => `stall-${i}`);
    const holder = await openWs(`${a.wsUrl}/ws?${held.map((r) => `room=${r}`).join("&")}`);
    for (const room of held) await holder.next((m) => m.type === "joined" && m.room === room);
    const mark = a.lines.length;
    expect(await redisCli(cluster.ports[1]!, "CLIENT", "PAUSE", "1500", "ALL")).toBe("OK");
    await a.waitForLine(/canary not back within \d+ ms on \d+ channel/, 10_000, mark);
    await a.waitForLine(/redis fan-out healthy/, 20_000, mark);
    // B holds only the channels of its rooms: it went unready only if one was on the paused master.
    await until(async () => (await fetch(`${b.url}/readyz`)).status === 200, "B ready again", 20_000);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(Number(/ws_emit_redis_canary_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    const rooms = Array.from({ length: 12 }, (_, i) => `after-${i}`);
    const clients = await Promise.all(rooms.map((room) => openWs(`${b.wsUrl}/ws?room=${room}`)));
    for (const c of clients) await c.next((m) => m.type === "joined");
    const r = await emit(a.url, { event: "back", rooms });
    expect(r.body).toMatchObject({ ok: true, cluster: true });
    for (const c of clients) {
      await c.next((m) => m.event === "back");
      c.close();
    }
    holder.close();
  }, 40_000);
});
