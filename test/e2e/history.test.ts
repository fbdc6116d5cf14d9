/**
 * Room history through the real server: two nodes on one real redis-server, raw WebSockets and
 * the `eventsource` package. Connections are cut (client side, and by killing the serving
 * node) while emits go on; clients come back on the same or the other node and must see every
 * event exactly once and in order, or be told they cannot (never a silent hole).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emit, startNode, until, type Started } from "../helpers/server.ts";
import { redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";
import { openEventSource } from "../helpers/sse.ts";

let redis: RedisServer;
let a: Started;
let b: Started;
const HISTORY = ["--history", "1000", "--redis-canary", "300ms", "--redis-canary-timeout", "200ms"];

beforeAll(async () => {
  redis = await startRedis();
  [a, b] = await Promise.all([startNode(redis.url, HISTORY), startNode(redis.url, HISTORY)]);
}, 30_000);
afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await redis?.[Symbol.asyncDispose]();
}, 30_000);

const events = (c: TestWs, room: string) => c.received.filter((m) => m?.type === "event" && m.room === room);
const waitData = (c: TestWs, room: string, data: number) => c.next((m) => m?.type === "event" && m.room === room && m.data === data, 10_000);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
async function emitRange(base: string, room: string, from: number, to: number) {
  for (let i = from; i <= to; i++) {
    const r = await emit(base, { event: "n", room, data: i });
    expect(r.status).toBe(200);
  }
}

describe("native WebSocket", () => {
  test("killing the serving node mid-stream: the client resumes on the other node, every event once, in order", async () => {
    const room = "kill-native";
    // A node of its own to kill, on the same Redis.
    const victim = await startNode(redis.url, HISTORY);
    const c1 = await openWs(`${victim.url.replace("http", "ws")}/ws`);
    c1.send({ type: "join", room, id: 1 });
    const joined = await c1.next((m) => m.type === "joined");
    expect(joined.position).toMatch(/^[0-9a-z]+-0$/);
    await emitRange(b.url, room, 1, 10);
    await waitData(c1, room, 10);
    await victim.stop("SIGKILL");
    await c1.closed;
    // Missed while away, then more while it reconnects (the seam between replay and live).
    await emitRange(b.url, room, 11, 30);
    const last = events(c1, room).at(-1)!.id;
    const more = emitRange(b.url, room, 31, 60);
    const c2 = await openWs(`${b.wsUrl}/ws?room=${room}&since=${last}`);
    await more;
    await waitData(c2, room, 60);
    const j = c2.received.find((m) => m.type === "joined");
    expect(j).toMatchObject({ room, recovered: true });
    const got = [...events(c1, room), ...events(c2, room)];
    expect(got.map((e) => e.data)).toEqual(range(1, 60));
    // Ids increase by one in one epoch: the client could check for itself that nothing is missing.
    const offs = got.map((e) => Number(e.id.split("-")[1]));
    expect(offs).toEqual(range(offs[0]!, offs[0]! + 59));
    c2.close();
  });

  test("a client that closes and re-joins with since (same node) gets the missed events once", async () => {
    const room = "cut-native";
    const c1 = await openWs(`${a.wsUrl}/ws?room=${room}`);
    await c1.next((m) => m.type === "joined");
    await emitRange(a.url, room, 1, 5);
    await waitData(c1, room, 5);
    c1.close();
    await c1.closed;
    await emitRange(b.url, room, 6, 12);
    const c2 = await openWs(`${a.wsUrl}/ws`);
    const more = emitRange(a.url, room, 13, 20);
    c2.send({ type: "join", room, since: events(c1, room).at(-1)!.id, id: "j" });
    await more;
    await waitData(c2, room, 20);
    expect(c2.received[0]).toMatchObject({ type: "joined", room, id: "j", recovered: true });
    expect([...events(c1, room), ...events(c2, room)].map((e) => e.data)).toEqual(range(1, 20));
    c2.close();
  });

  test("since from another epoch, too far back, or from the future: recovered:false, then live", async () => {
    const room = "bad-since";
    await emitRange(a.url, room, 1, 2);
    const c = await openWs(`${a.wsUrl}/ws`);
    c.send({ type: "join", room, since: "zzzzzz-1" });
    expect(await c.next((m) => m.type === "joined")).toMatchObject({ recovered: false });
    c.send({ type: "join", room: `${room}2`, since: "abc-99" });
    expect(await c.next((m) => m.type === "joined")).toMatchObject({ recovered: false });
    c.send({ type: "join", room: `${room}3`, since: "not an id" });
    expect(await c.next((m) => m.type === "error")).toMatchObject({ code: "bad_request" });
    await emitRange(b.url, room, 3, 3);
    expect(await waitData(c, room, 3)).toMatchObject({ data: 3 });
    expect(events(c, room).length).toBe(1);
    c.close();
  });
});

describe("SSE", () => {
  test("a stream of two rooms resumes on the other node from Last-Event-ID: each event once, each room in order", async () => {
    const es1 = openEventSource(`${a.url}/sse?room=sx&room=sy&format=envelope`, ["gap"]);
    await es1.opened;
    // The first id (before any event) already holds both rooms' positions.
    await emit(b.url, { event: "n", room: "sx", data: 1 });
    await emit(b.url, { event: "n", room: "sy", data: 2 });
    await emit(b.url, { event: "n", rooms: ["sx", "sy"], data: 3 });
    await es1.next((e) => JSON.parse(e.data).data === 3);
    es1.close();
    const lastId = es1.received.at(-1)!.id!;
    expect(lastId.split(",")).toHaveLength(2);
    for (const [room, data] of [["sy", 4], ["sx", 5], ["sx", 6], ["sy", 7]] as const) await emit(a.url, { event: "n", room, data });
    await emit(a.url, { event: "n", rooms: ["sy", "sx"], data: 8 });
    const es2 = openEventSource(`${b.url}/sse?room=sx&room=sy&format=envelope`, ["gap"], { "Last-Event-ID": lastId });
    await es2.opened;
    await emit(b.url, { event: "n", room: "sy", data: 9 });
    await es2.next((e) => JSON.parse(e.data).data === 9);
    expect([...es1.received, ...es2.received].filter((e) => e.type !== "message")).toEqual([]); // no gap
    const got = [...es1.received, ...es2.received].map((e) => JSON.parse(e.data));
    const data = got.map((e) => e.data);
    expect([...data].sort((x, y) => x - y)).toEqual(range(1, 9)); // each once
    for (const room of ["sx", "sy"]) {
      const inRoom = got.filter((e) => e.room === room).map((e) => e.data);
      expect(inRoom).toEqual([...inRoom].sort((x, y) => x - y)); // in order within the room
    }
    es2.close();
  });

  test("a stream reopened with a room added at the end: the old rooms resume, the new one starts fresh (no gap)", async () => {
    const es1 = openEventSource(`${a.url}/sse?room=sa`, ["n", "gap"]);
    await es1.opened;
    await emit(a.url, { event: "n", room: "sa", data: 1 });
    const first = await es1.next();
    es1.close();
    await emit(a.url, { event: "n", room: "sa", data: 2 });
    const es2 = openEventSource(`${b.url}/sse?room=sa&room=sb`, ["n", "gap"], { "Last-Event-ID": first.id! });
    await es2.opened;
    await emit(b.url, { event: "n", room: "sb", data: 3 });
    await es2.next((e) => e.data === "3");
    expect(es2.received.map((e) => `${e.type}:${e.data}`)).toEqual(["n:2", "n:3"]);
    expect(es2.received.at(-1)!.id!.split(",")).toHaveLength(2);
    es2.close();
  });

  test("?lastEventId= works for a first connect", async () => {
    const es1 = openEventSource(`${a.url}/sse?room=slid`, ["n"]);
    await es1.opened;
    await emit(a.url, { event: "n", room: "slid", data: 1 });
    const first = await es1.next();
    es1.close();
    await emit(a.url, { event: "n", room: "slid", data: 2 });
    const es2 = openEventSource(`${b.url}/sse?room=slid&lastEventId=${encodeURIComponent(first.id!)}`, ["n", "gap"]);
    await es2.opened;
    expect(await es2.next()).toMatchObject({ type: "n", data: "2" });
    es2.close();
  });
});

describe("idempotent publish and publish feedback", () => {
  test("POST /emit: the same key on another node is a duplicate and reaches no one; the answer carries the ids", async () => {
    const c = await openWs(`${a.wsUrl}/ws?room=idem`);
    await c.next((m) => m.type === "joined");
    const first = await emit(a.url, { event: "n", room: "idem", data: 1, idempotency_key: "order-17" });
    expect(first.status).toBe(200);
    expect(first.body.ids.idem).toMatch(/^[0-9a-z]+-\d+$/);
    expect((await waitData(c, "idem", 1)).id).toBe(first.body.ids.idem);
    const again = await emit(b.url, { event: "n", room: "idem", data: 1, idempotency_key: "order-17" });
    expect(again).toMatchObject({ status: 200, body: { ok: true, duplicate: true, delivered: 0 } });
    const batch = await emit(a.url, [{ event: "n", room: "idem", data: 1, idempotency_key: "order-17" }, { event: "n", room: "idem", data: 2 }]);
    expect(batch.body.results[0]).toMatchObject({ duplicate: true });
    await waitData(c, "idem", 2);
    expect(events(c, "idem").map((e) => e.data)).toEqual([1, 2]);
    expect((await emit(a.url, { event: "n", room: "idem", idempotency_key: "" })).status).toBe(400);
    c.close();
  });

  test("Redis JSON channel: both nodes hear each PUBLISH, the event goes out once with an id; a repeated key is dropped", async () => {
    const ca = await openWs(`${a.wsUrl}/ws?room=rj`);
    const cb = await openWs(`${b.wsUrl}/ws?room=rj`);
    await Promise.all([ca.next((m) => m.type === "joined"), cb.next((m) => m.type === "joined")]);
    const pub = (o: unknown) => redisCli(redis.port, "PUBLISH", "ws-emit", JSON.stringify(o));
    // A node killed by an earlier test may have held the ingest lease: wait until a live one does.
    await until(async () => {
      await pub({ event: "probe", room: "rj" });
      return ca.received.some((m) => m.event === "probe");
    }, "a live node holding the ingest lease", 15_000);
    await pub({ event: "n", room: "rj", data: 1 });
    await pub({ event: "n", room: "rj", data: 1 }); // the same payload twice is two emits
    await pub({ event: "n", room: "rj", data: 2, idempotency_key: "k" });
    await pub({ event: "n", room: "rj", data: 2, idempotency_key: "k" }); // a retry: dropped
    await pub({ event: "n", room: "rj", data: 3 });
    for (const c of [ca, cb]) {
      await waitData(c, "rj", 3);
      const got = events(c, "rj").filter((e) => e.event === "n");
      expect(got.map((e) => e.data)).toEqual([1, 1, 2, 3]);
      expect(new Set(got.map((e) => e.id)).size).toBe(4);
    }
    const ids = (c: TestWs) => events(c, "rj").filter((e) => e.event === "n").map((e) => e.id);
    expect(ids(ca)).toEqual(ids(cb));
    ca.close();
    cb.close();
  });
});

describe("history lost (Redis restarted without persistence)", () => {
  test("native says recovered:false and SSE sends event: gap, never a silent hole", async () => {
    const c = await openWs(`${a.wsUrl}/ws?room=lost`);
    await c.next((m) => m.type === "joined");
    const es = openEventSource(`${a.url}/sse?room=lost`, ["n", "gap"]);
    await es.opened;
    await emit(a.url, { event: "n", room: "lost", data: 1 });
    await waitData(c, "lost", 1);
    const sseId = (await es.next()).id!;
    c.close();
    es.close();
    const since = events(c, "lost").at(-1)!.id;
    const [ha, hb] = [a.lines.length, b.lines.length];
    await redis.stop();
    await redis.restart();
    await Promise.all([a.waitForLine(/redis fan-out healthy/, 15_000, ha), b.waitForLine(/redis fan-out healthy/, 15_000, hb)]);
    // Ready means the history's connection is back too.
    for (const n of [a, b]) await until(async () => (await fetch(`${n.url}/readyz`)).status === 200, "readyz", 15_000);
    // Emitted after the restart: the room starts a new epoch; what came before is gone.
    await emit(b.url, { event: "n", room: "lost", data: 2 });
    const c2 = await openWs(`${b.wsUrl}/ws?room=lost&since=${since}`);
    expect(await c2.next((m) => m.type === "joined")).toMatchObject({ recovered: false });
    await emit(b.url, { event: "n", room: "lost", data: 3 });
    expect((await waitData(c2, "lost", 3)).id.split("-")[0]).not.toBe(since.split("-")[0]);
    const es2 = openEventSource(`${b.url}/sse?room=lost`, ["n", "gap"], { "Last-Event-ID": sseId });
    await es2.opened;
    expect(await es2.next()).toMatchObject({ type: "gap", data: '["lost"]' });
    c2.close();
    es2.close();
  }, 30_000);
});

describe("examples/history/resume.sh (the commands of docs/history.md)", () => {
  test("publish feedback, a duplicate, and an SSE resume from an id, with curl", async () => {
    const { ROOT, cleanEnv } = await import("../helpers/server.ts");
    const sh = Bun.spawn(["sh", `${ROOT}/examples/history/resume.sh`], { env: cleanEnv({ WS_EMIT_URL: a.url }), stdout: "pipe", stderr: "pipe" });
    const out = await new Response(sh.stdout).text();
    expect(await sh.exited).toBe(0);
    const lines = out.split("\n");
    expect(JSON.parse(lines[0]!).ids.demo).toMatch(/^[0-9a-z]+-\d+$/);
    expect(JSON.parse(lines[1]!)).toMatchObject({ duplicate: true, delivered: 0 });
    const stream = out.slice(out.indexOf("retry:"));
    expect(stream).toContain('event: news\ndata: "third"');
    expect(stream).not.toContain('"second"');
    expect(stream).not.toContain('"first"');
  });
});

describe("without Redis (in-memory history)", () => {
  test("native resume on the same node; after a restart (new epoch) recovered:false", async () => {
    const { startWsEmit } = await import("../helpers/server.ts");
    let s = await startWsEmit(["--history", "50"]);
    try {
      const c1 = await openWs(`${s.wsUrl}/ws?room=m`);
      await c1.next((m) => m.type === "joined");
      await emitRange(s.url, "m", 1, 2);
      await waitData(c1, "m", 2);
      c1.close();
      await emitRange(s.url, "m", 3, 4);
      const since = events(c1, "m").at(-1)!.id;
      const c2 = await openWs(`${s.wsUrl}/ws?room=m&since=${since}`);
      await waitData(c2, "m", 4);
      expect(c2.received[0]).toMatchObject({ type: "joined", recovered: true });
      expect(events(c2, "m").map((e) => e.data)).toEqual([3, 4]);
      c2.close();
      await s.stop();
      s = await startWsEmit(["--history", "50"]);
      const c3 = await openWs(`${s.wsUrl}/ws?room=m&since=${events(c2, "m").at(-1)!.id}`);
      expect(await c3.next((m) => m.type === "joined")).toMatchObject({ recovered: false });
      c3.close();
    } finally {
      await s.stop();
    }
  });
});

describe("Redis-channel emits with history: one node publishes them (the ingest lease)", () => {
  test("when that node dies, the other takes over and publishes what comes next, once", async () => {
    await using r2 = await startRedis();
    const n1 = await startNode(r2.url, HISTORY);
    await n1.waitForLine(/this node now publishes the Redis-channel emits/);
    const n2 = await startNode(r2.url, HISTORY);
    try {
      const c = await openWs(`${n2.wsUrl}/ws?room=lease`);
      await c.next((m) => m.type === "joined");
      const pub = (data: number) => redisCli(r2.port, "PUBLISH", "ws-emit", JSON.stringify({ event: "n", room: "lease", data }));
      await pub(1);
      await waitData(c, "lease", 1);
      const from = n2.lines.length;
      await n1.stop("SIGKILL");
      await n2.waitForLine(/this node now publishes the Redis-channel emits/, 10_000, from);
      await pub(2);
      await pub(3);
      await waitData(c, "lease", 3);
      const got = events(c, "lease");
      expect(got.map((e) => e.data)).toEqual([1, 2, 3]);
      expect(got.every((e) => /^[0-9a-z]+-\d+$/.test(e.id))).toBe(true);
      c.close();
    } finally {
      await Promise.allSettled([n1.stop(), n2.stop()]);
    }
  }, 30_000);
});

describe("SSE: the serving node is killed", () => {
  test("EventSource reconnects by itself (through a proxy, to the other node) with its Last-Event-ID: every event once", async () => {
    const { tcpProxy } = await import("../helpers/switch-proxy.ts");
    const victim = await startNode(redis.url, HISTORY);
    const proxy = tcpProxy(Number(new URL(victim.url).port));
    const es = openEventSource(`${proxy.url}/sse?room=sk&room=sk2`, ["n", "gap"]);
    try {
      await es.opened;
      for (let i = 1; i <= 5; i++) await emit(b.url, { event: "n", room: i % 2 ? "sk" : "sk2", data: i });
      await es.next((e) => e.data === "5");
      proxy.setTarget(Number(new URL(b.url).port));
      const errorsBefore = es.errors();
      await victim.stop("SIGKILL");
      for (let i = 6; i <= 15; i++) await emit(b.url, { event: "n", room: i % 2 ? "sk" : "sk2", data: i });
      // EventSource waits the retry hint (3 s), then comes back with Last-Event-ID.
      await es.next((e) => e.data === "15", 15_000);
      expect(es.errors()).toBeGreaterThan(errorsBefore);
      expect(es.received.filter((e) => e.type === "gap")).toEqual([]);
      const got = es.received.map((e) => Number(e.data));
      expect([...got].sort((x, y) => x - y)).toEqual(range(1, 15)); // each once
      // In order within each room (a replay goes room by room).
      expect(got.filter((n) => n % 2)).toEqual(range(1, 15).filter((n) => n % 2));
      expect(got.filter((n) => n % 2 === 0)).toEqual(range(1, 15).filter((n) => n % 2 === 0));
    } finally {
      es.close();
      proxy.stop();
      await victim.stop();
    }
  }, 30_000);
});

describe("--history-ttl", () => {
  test("an event older than the TTL cannot be replayed (Redis keeps the stream whole): recovered:false; newer ones can", async () => {
    await using r3 = await startRedis();
    const n = await startNode(r3.url, ["--history", "100", "--history-ttl", "1s"]);
    try {
      const ids: string[] = [];
      for (const data of [1, 2]) ids.push((await emit(n.url, { event: "n", room: "ttl", data })).body.ids.ttl);
      await Bun.sleep(1200); // the TTL itself is what is tested: time has to pass
      ids.push((await emit(n.url, { event: "n", room: "ttl", data: 3 })).body.ids.ttl);
      const old = await openWs(`${n.wsUrl}/ws?room=ttl&since=${ids[0]}`);
      expect(await old.next((m) => m.type === "joined")).toMatchObject({ recovered: false });
      const fresh = await openWs(`${n.wsUrl}/ws?room=ttl&since=${ids[1]}`);
      expect(await fresh.next((m) => m.type === "joined")).toMatchObject({ recovered: true });
      expect((await fresh.next((m) => m.type === "event")).data).toBe(3);
      old.close();
      fresh.close();
    } finally {
      await n.stop();
    }
  }, 30_000);
});
