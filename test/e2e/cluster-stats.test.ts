/**
 * Cluster-wide /stats with a real redis-server and real ws-emit nodes: every node shares a
 * snapshot every --stats-interval; /stats on any node sums connections, rooms and rates over
 * the live nodes; a killed node drops out when its snapshot expires, a drained one at once;
 * Redis down leaves the local numbers and says the cluster view is unavailable.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { startWsEmit, type Started } from "../helpers/server.ts";
import { connectSio, emitAck } from "../helpers/sio.ts";
import { openEventSource } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";

const FAST = ["--redis-canary", "400ms", "--redis-canary-timeout", "300ms", "--stats-interval", "500ms"];

async function startNode(redisUrl: string, extra: string[] = []): Promise<Started> {
  const n = await startWsEmit(["--redis", redisUrl, ...FAST, ...extra]);
  await n.waitForLine(/redis fan-out healthy/);
  return n;
}

const stats = async (n: Started): Promise<any> => {
  const res = await fetch(`${n.url}/stats`);
  expect(res.status).toBe(200);
  return res.json();
};

/** Snapshots arrive on a timer, not on an event: poll /stats until `ok` holds (bounded). */
async function statsUntil(n: Started, ok: (s: any) => boolean, what: string, ms = 8000): Promise<any> {
  const deadline = Date.now() + ms;
  let last: any;
  while (Date.now() < deadline) {
    last = await stats(n);
    if (ok(last)) return last;
    await Bun.sleep(100);
  }
  throw new Error(`/stats never showed ${what}; last: ${JSON.stringify(last?.cluster)}`);
}

describe("/stats across nodes on one Redis", () => {
  let redis: RedisServer;
  let a: Started, b: Started;
  const closers: Array<() => void> = [];
  beforeAll(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startNode(redis.url), startNode(redis.url)]);
  });
  afterAll(async () => {
    for (const c of closers) c();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.[Symbol.asyncDispose]();
  });

  test("either node shows both nodes, total connections and summed room counts", async () => {
    // Node A: two native clients in "shared", a Socket.IO client in "a-only".
    for (let i = 0; i < 2; i++) {
      const c = await openWs(`${a.wsUrl}/ws?room=shared`);
      await c.next((m) => m.type === "joined");
      closers.push(() => c.close());
    }
    const sio = await connectSio(a.url, { transports: ["websocket"] });
    expect(await emitAck(sio, "join", { room: "a-only" })).toEqual({ ok: true });
    closers.push(() => sio.close());
    // Node B: a native client in "shared", an SSE stream in "shared" and "b-only".
    const nb = await openWs(`${b.wsUrl}/ws?room=shared`);
    await nb.next((m) => m.type === "joined");
    closers.push(() => nb.close());
    const es = openEventSource(`${b.url}/sse?room=shared&room=b-only`);
    await es.opened;
    closers.push(() => es.close());

    const idA = (await stats(a)).node as string;
    const idB = (await stats(b)).node as string;
    expect(idA).toMatch(/^[0-9a-f]{12}$/);
    expect(idB).not.toBe(idA);
    for (const [n, self] of [[a, idA], [b, idB]] as const) {
      const s = await statsUntil(n, (s) => s.cluster?.connections === 5 && s.cluster.top_rooms.shared === 4, "5 connections and shared=4");
      // The local part is unchanged: this node only.
      expect(s.connections).toBe(n === a ? 3 : 2);
      expect(s.cluster).toMatchObject({
        available: true,
        node_count: 2,
        connections: 5,
        connections_by_transport: { native: 3, socketio: 1, sse: 1 },
        rooms: 3,
        rooms_exact: true,
        top_rooms: { shared: 4, "a-only": 1, "b-only": 1 },
      });
      expect(Object.keys(s.cluster.top_rooms)[0]).toBe("shared");
      const nodes = s.cluster.nodes as any[];
      expect(nodes.map((x) => x.id).sort()).toEqual([idA, idB].sort());
      expect(nodes[0]).toMatchObject({ id: self, self: true, age_s: 0 });
      expect(nodes[1].self).toBeUndefined();
      expect(nodes[1].age_s).toBeLessThan(2);
      expect(nodes.find((x) => x.id === idA)).toMatchObject({ connections: 3, rooms: 2, draining: false });
      expect(s.cluster.rates_1m).toEqual({ events_in_per_s: expect.any(Number), deliveries_per_s: expect.any(Number) });
    }
    // In Redis: a snapshot key per node with a TTL of 3 intervals, and the index.
    expect((await redisCli(redis.port, "ZRANGE", "ws-emit:nodes", "0", "-1")).split("\n").sort()).toEqual([idA, idB].sort());
    const ttl = Number(await redisCli(redis.port, "PTTL", `ws-emit:nodes:${idA}`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
    expect(JSON.parse(await redisCli(redis.port, "GET", `ws-emit:nodes:${idB}`))).toMatchObject({ v: 1, id: idB, connections: 2, ttl_ms: 1500 });
  });

  test("a killed node vanishes when its snapshot expires; a drained node removes it at once", async () => {
    const c = await startNode(redis.url);
    const idC = (await stats(c)).node as string;
    await statsUntil(a, (s) => s.cluster?.node_count === 3, "node C");
    await c.stop("SIGKILL");
    const killedAt = Date.now();
    await statsUntil(a, (s) => s.cluster?.node_count === 2, "node C gone");
    // TTL 3 × 500 ms, plus the 1 s /stats cache and polling.
    expect(Date.now() - killedAt).toBeLessThan(4000);
    expect((await stats(a)).cluster.nodes.some((x: any) => x.id === idC)).toBe(false);

    const d = await startNode(redis.url, ["--drain", "200ms"]);
    const idD = (await stats(d)).node as string;
    await statsUntil(a, (s) => s.cluster?.nodes.some((x: any) => x.id === idD), "node D");
    await d.stop("SIGTERM");
    // Gone from Redis as soon as it exited, well before its TTL would have run out.
    expect(await redisCli(redis.port, "EXISTS", `ws-emit:nodes:${idD}`)).toBe("0");
    expect(await redisCli(redis.port, "ZSCORE", "ws-emit:nodes", idD)).toBe("");
  });

  test("Redis down: /stats answers with local numbers and cluster.available false; back when Redis is", async () => {
    await redis.stop();
    const s = await statsUntil(a, (s) => s.cluster?.available === false, "cluster unavailable");
    expect(s.cluster.error).toMatch(/Redis is not connected|Redis cannot answer/);
    expect(s.connections).toBe(3);
    expect(s.top_rooms).toMatchObject({ shared: 2, "a-only": 1 });
    await redis.restart();
    await statsUntil(a, (s) => s.cluster?.available === true && s.cluster.node_count === 2, "the cluster again", 15_000);
  }, 30_000);
});
