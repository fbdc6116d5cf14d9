/**
 * The Redis engine with a real redis-server and several real ws-emit processes:
 * exactly-once and ordered fan-out across nodes, roomspace secrets from Redis (cache,
 * change, delete, prefix), and the engine's behaviour when Redis goes away and returns.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";

/** Fast health checks and a short secret cache, so the tests wait little. */
const FAST = ["--secret-cache", "300ms", "--redis-canary", "400ms", "--redis-canary-timeout", "300ms"];

async function startNode(redisUrl: string, extra: string[] = []): Promise<Started> {
  const n = await startWsEmit(["--redis", redisUrl, ...FAST, ...extra]);
  await n.waitForLine(/redis fan-out healthy/);
  return n;
}

async function client(node: Started, room: string): Promise<TestWs> {
  const c = await openWs(`${node.wsUrl}/ws?room=${encodeURIComponent(room)}`);
  expect(await c.next()).toEqual({ type: "joined", room });
  return c;
}

const events = (c: TestWs, name?: string) => c.received.filter((m) => m.type === "event" && (name === undefined || m.event === name));

/** Join `room` with `secret` on a fresh socket; resolves to the reply's type or error code. */
async function tryJoin(node: Started, room: string, secret?: string): Promise<string> {
  const c = await openWs(`${node.wsUrl}/ws`);
  c.send({ type: "join", room, secret, id: 1 });
  const r = await c.next((m) => m.id === 1);
  c.close();
  return r.type === "joined" ? "joined" : r.code;
}

/** Ask again until `want` (a secret change reaches this node within the cache TTL); bounded. */
async function joinUntil(node: Started, room: string, secret: string | undefined, want: string, attempts = 100): Promise<number> {
  for (let i = 1; i <= attempts; i++) {
    if ((await tryJoin(node, room, secret)) === want) return i;
    await Bun.sleep(50); // polling a cache expiry: there is no event to await
  }
  throw new Error(`join ${room} never answered ${want}`);
}

async function readyz(node: Started): Promise<number> {
  return (await fetch(`${node.url}/readyz`)).status;
}

describe("several nodes on one Redis", () => {
  let redis: RedisServer;
  let a: Started, b: Started, c: Started;
  beforeAll(async () => {
    redis = await startRedis();
    [a, b, c] = await Promise.all([startNode(redis.url), startNode(redis.url), startNode(redis.url)]);
  });
  afterAll(async () => {
    await Promise.all([a, b, c].map((n) => n?.stop()));
    await redis?.[Symbol.asyncDispose]();
  });

  test("an emit taken by one node reaches every client on every node exactly once, in order", async () => {
    const clients = [await client(a, "news"), await client(a, "news"), await client(b, "news"), await client(c, "news")];
    const N = 50;
    for (let i = 0; i < N; i++) {
      const r = await emit(a.url, { event: "seq", room: "news", data: i });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ok: true, cluster: true });
    }
    // And a batch: one request, in order.
    const batch = await emit(a.url, Array.from({ length: N }, (_, i) => ({ event: "seq", room: "news", data: N + i })));
    expect(batch.body).toMatchObject({ ok: true, emitted: N, cluster: true });
    // Markers: first through A, then through B once A's publishes are in Redis. Any echo of
    // A's own emits (a duplicate) would come through Redis before both markers reach a client
    // (B's clients get B's marker locally, maybe before A's arrives: two publishers, no order).
    await emit(a.url, { event: "mark", room: "news", data: "a" });
    await emit(b.url, { event: "mark", room: "news", data: "b" });
    for (const cl of clients) {
      await cl.next((m) => m.event === "mark");
      await cl.next((m) => m.event === "mark");
      expect(events(cl, "seq").map((m) => m.data)).toEqual(Array.from({ length: 2 * N }, (_, i) => i));
      expect(events(cl, "mark").map((m) => m.data).sort()).toEqual(["a", "b"]);
    }
    // The local count is this node's only; a client on A counts, B's and C's are remote.
    const r = await emit(c.url, { event: "one", room: "news", data: 1 });
    expect(r.body.delivered).toBe(1);
    for (const cl of clients) expect((await cl.next((m) => m.event === "one")).data).toBe(1);
    for (const cl of clients) cl.close();
  });

  test("broadcast (no room) and multi-room emits cross nodes once per room", async () => {
    const x = await client(b, "x");
    const y = await client(c, "y");
    await emit(a.url, { event: "multi", rooms: ["x", "y", "z"], data: 1 });
    await emit(a.url, { event: "all", data: 2 });
    expect(await x.next((m) => m.event === "multi")).toEqual({ type: "event", room: "x", event: "multi", data: 1 });
    expect(await y.next((m) => m.event === "multi")).toEqual({ type: "event", room: "y", event: "multi", data: 1 });
    expect((await x.next((m) => m.event === "all")).data).toBe(2);
    expect((await y.next((m) => m.event === "all")).data).toBe(2);
    await emit(b.url, { event: "mark", rooms: ["x", "y"] });
    await x.next((m) => m.event === "mark");
    await y.next((m) => m.event === "mark");
    expect(events(x, "multi").length).toBe(1);
    expect(events(y, "all").length).toBe(1);
    x.close();
    y.close();
  });

  test("roomspace secret from Redis: right one joins, wrong and missing do not; changes apply within the cache TTL", async () => {
    expect(await redisCli(redis.port, "SET", "ws-emit::secret::dir", "S1")).toBe("OK");
    expect(await tryJoin(a, "dir::file.txt", "S1")).toBe("joined");
    expect(await tryJoin(b, "dir::file.txt", "S1")).toBe("joined");
    expect(await tryJoin(a, "dir::file.txt", "wrong")).toBe("forbidden");
    expect(await tryJoin(a, "dir::file.txt")).toBe("forbidden");
    expect(await tryJoin(a, "nokey::x", "S1")).toBe("forbidden");

    // A member receives events of the private room from any node.
    const m = await openWs(`${c.wsUrl}/ws`);
    m.send({ type: "join", room: "dir::file.txt", secret: "S1", id: 5 });
    expect(await m.next((x) => x.id === 5)).toEqual({ type: "joined", room: "dir::file.txt", id: 5 });
    await emit(a.url, { event: "changed", room: "dir::file.txt", data: "v2" });
    expect(await m.next((x) => x.type === "event")).toEqual({ type: "event", room: "dir::file.txt", event: "changed", data: "v2" });
    m.close();

    await redisCli(redis.port, "SET", "ws-emit::secret::dir", "S2");
    await joinUntil(b, "dir::file.txt", "S2", "joined");
    expect(await tryJoin(b, "dir::file.txt", "S1")).toBe("forbidden");
    await redisCli(redis.port, "DEL", "ws-emit::secret::dir");
    await joinUntil(b, "dir::file.txt", "S2", "forbidden");
  });

  test("PUT /roomspaces/<name>/secret on one node is honoured by the others", async () => {
    const put = await fetch(`${a.url}/roomspaces/team/secret`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ secret: "T0p" }) });
    expect(put.status).toBe(200);
    expect(await redisCli(redis.port, "GET", "ws-emit::secret::team")).toBe("T0p");
    await joinUntil(c, "team::chat", "T0p", "joined");
    const del = await fetch(`${b.url}/roomspaces/team/secret`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(await tryJoin(b, "team::chat", "T0p")).toBe("forbidden"); // this node forgot its cache at once
    await joinUntil(a, "team::chat", "T0p", "forbidden");
  });

  test("--secret-prefix r2ws::room_secret:: reads redis2websocket's keys", async () => {
    await redisCli(redis.port, "SET", "r2ws::room_secret::legacy", "L3gacy");
    const d = await startNode(redis.url, ["--secret-prefix", "r2ws::room_secret::"]);
    try {
      expect(await tryJoin(d, "legacy::a", "L3gacy")).toBe("joined");
      expect(await tryJoin(d, "legacy::a", "nope")).toBe("forbidden");
      expect(await tryJoin(a, "legacy::a", "L3gacy")).toBe("forbidden"); // default prefix: no such key
    } finally {
      await d.stop();
    }
  });

  test("a different --redis-prefix is a separate deployment on the same Redis", async () => {
    const other = await startNode(redis.url, ["--redis-prefix", "other"]);
    try {
      const mine = await client(a, "iso");
      const theirs = await client(other, "iso");
      await emit(other.url, { event: "theirs", room: "iso" });
      await emit(b.url, { event: "mine", room: "iso" });
      expect((await mine.next((m) => m.type === "event")).event).toBe("mine");
      expect((await theirs.next((m) => m.type === "event")).event).toBe("theirs");
      expect(events(theirs).length).toBe(1);
      mine.close();
      theirs.close();
    } finally {
      await other.stop();
    }
  });

  test("verbatim payloads (webdis /PUBLISH) cross nodes intact, once per client", async () => {
    const w = await openWs(`${b.wsUrl}/.json`);
    w.send(["SUBSCRIBE", "chan7"]);
    expect(await w.next()).toEqual({ SUBSCRIBE: ["subscribe", "chan7", 1] });
    const n = await client(c, "chan7"); // a native client in the same room gets it as an event
    const r = await fetch(`${a.url}/PUBLISH/chan7/hello%20there`);
    expect(((await r.json()) as any).PUBLISH).toBe(0); // no local subscriber on A
    expect(await w.next()).toEqual({ SUBSCRIBE: ["message", "chan7", "hello there"] });
    await emit(a.url, { event: "mark", room: "chan7", data: 1 });
    await n.next((m) => m.event === "mark");
    expect(events(n, "message")).toEqual([{ type: "event", room: "chan7", event: "message", data: "hello there" }]);
    // The webdis client sees the emit too (as its JSON text): after it, no second copy of the first.
    expect(await w.next()).toEqual({ SUBSCRIBE: ["message", "chan7", "1"] });
    expect(w.received.filter((m) => m.SUBSCRIBE?.[2] === "hello there").length).toBe(1);
    w.close();
    n.close();
  });

  test("/readyz is 200 and /metrics counts cluster traffic", async () => {
    expect(await readyz(a)).toBe(200);
    const m = await (await fetch(`${b.url}/metrics`)).text();
    expect(m).toMatch(/ws_emit_events_in_total\{source="cluster"\} [1-9]/);
  });
});

describe("Redis faults", () => {
  test("Redis down at start: serves public rooms, private joins answer unavailable, /readyz 503; recovers by itself", async () => {
    const port = await freePort();
    const a = await startWsEmit(["--redis", `redis://127.0.0.1:${port}`, ...FAST]);
    let redis: RedisServer | undefined;
    let b: Started | undefined;
    try {
      expect(await readyz(a)).toBe(503);
      await a.waitForLine(/reconnecting/);
      const pub = await client(a, "pub");
      const r = await emit(a.url, { event: "local", room: "pub", data: 1 });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ ok: true, delivered: 1, cluster: false });
      expect((await pub.next((m) => m.type === "event")).data).toBe(1);
      expect(await tryJoin(a, "dir::x", "S")).toBe("unavailable");
      const up = await fetch(`${a.url}/ws?room=dir::x&secret=S`, { headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" } });
      expect(up.status).toBe(503);
      expect(((await up.json()) as { error: string }).error).toBe("unavailable");

      redis = await startRedis([], port);
      await a.waitForLine(/redis fan-out healthy/, 15_000);
      expect(await readyz(a)).toBe(200);
      await redisCli(port, "SET", "ws-emit::secret::dir", "S");
      expect(await tryJoin(a, "dir::x", "S")).toBe("joined");
      b = await startNode(redis.url);
      await emit(b.url, { event: "remote", room: "pub", data: 2 });
      expect((await pub.next((m) => m.event === "remote")).data).toBe(2);
      pub.close();
    } finally {
      await Promise.all([a.stop(), b?.stop()]);
      await redis?.[Symbol.asyncDispose]();
    }
  });

  test("redis-server killed and restarted under connected clients: no crash, sockets stay, emits after recovery arrive", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url), startNode(redis.url)]);
    try {
      const ca = await client(a, "live");
      const cb = await client(b, "live");
      const marks = [a.lines.length, b.lines.length];
      await redis.stop();
      await a.waitForLine(/fan-out unhealthy/, 10_000, marks[0]);
      expect(await readyz(a)).toBe(503);
      // While Redis is down: local delivery still happens, and the response says the others missed it.
      const r = await emit(a.url, { event: "during", room: "live", data: 1 });
      expect(r.body).toMatchObject({ ok: true, delivered: 1, cluster: false });
      expect((await ca.next((m) => m.event === "during")).data).toBe(1);
      expect(await tryJoin(b, "dir::x", "S")).toBe("unavailable");

      await redis.restart();
      await Promise.all([a.waitForLine(/redis fan-out healthy/, 15_000, marks[0]), b.waitForLine(/redis fan-out healthy/, 15_000, marks[1])]);
      expect(await readyz(a)).toBe(200);
      await emit(a.url, { event: "after", room: "live", data: 2 });
      await emit(b.url, { event: "after", room: "live", data: 3 });
      for (const cl of [ca, cb]) {
        expect((await cl.next((m) => m.event === "after")).data).toBe(2);
        expect((await cl.next((m) => m.event === "after")).data).toBe(3);
      }
      expect(events(cb, "during")).toEqual([]); // at-most-once: Redis was down, B never saw it
      expect(a.proc.exitCode).toBeNull();
      expect(b.proc.exitCode).toBeNull();
      ca.close();
      cb.close();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await redis[Symbol.asyncDispose]();
    }
  });

  test("a canary that does not come back is counted, marks the node unready and forces a resubscribe", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url), startNode(redis.url)]);
    try {
      const cb = await client(b, "c");
      const mark = a.lines.length;
      // Redis holds every command for 1.5 s: canaries cannot come back within 300 ms.
      expect(await redisCli(redis.port, "CLIENT", "PAUSE", "1500", "ALL")).toBe("OK");
      await a.waitForLine(/canary not back within/, 10_000, mark);
      await a.waitForLine(/redis fan-out healthy/, 15_000, mark);
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      expect(Number(/ws_emit_redis_canary_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

      // A killed subscription (what a proxy or failover does) is noticed and replaced.
      const mark2 = a.lines.length;
      await redisCli(redis.port, "CLIENT", "KILL", "TYPE", "pubsub");
      await a.waitForLine(/redis subscriber reconnecting/, 10_000, mark2);
      await a.waitForLine(/redis fan-out healthy/, 15_000, mark2);
      await b.waitForLine(/redis fan-out healthy/, 15_000, mark2);
      await emit(a.url, { event: "after", room: "c", data: 1 });
      expect((await cb.next((m) => m.event === "after")).data).toBe(1);
      cb.close();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await redis[Symbol.asyncDispose]();
    }
  });
});
