/**
 * An emit to several rooms reaches a Socket.IO client (WebSocket and long-polling) and an SSE
 * stream that are in more than one of them exactly once, as Socket.IO's `io.to(a).to(b).emit`
 * does; native /ws clients get one frame per room (each frame names its room). Over HTTP on one
 * node, and across two nodes on one Redis (HTTP fan-out, the JSON channel, python-socketio's
 * message queue format and @socket.io/redis-emitter).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Emitter } from "@socket.io/redis-emitter";
import Redis from "ioredis";
import type { Socket } from "socket.io-client";
import { redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { emit, startNode, startWsEmit, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, recorder } from "../helpers/sio.ts";
import { openEventSource, type TestEventSource } from "../helpers/sse.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";

interface Clients {
  sioWs: Socket;
  sioPoll: Socket;
  sioWsGot: ReturnType<typeof recorder>;
  sioPollGot: ReturnType<typeof recorder>;
  sioWsMark: ReturnType<typeof recorder>;
  sioPollMark: ReturnType<typeof recorder>;
  sse: TestEventSource;
  envelope: TestEventSource;
  native: TestWs;
  close(): void;
}

/** One client of each kind, every one in rooms a and b, recording `event` and the marker. */
async function clientsIn(node: Started, event: string): Promise<Clients> {
  const sioWs = await connectSio(node.url, { transports: ["websocket"] });
  const sioPoll = await connectSio(node.url, { transports: ["polling"] });
  for (const s of [sioWs, sioPoll]) for (const room of ["a", "b"]) expect(await emitAck(s, "join", { room })).toEqual({ ok: true });
  const sse = openEventSource(`${node.url}/sse?room=a&room=b`, [event, "mark"]);
  const envelope = openEventSource(`${node.url}/sse?room=a&room=b&format=envelope`);
  await Promise.all([sse.opened, envelope.opened]);
  const native = await openWs(`${node.wsUrl}/ws?room=a&room=b`);
  await native.next((m) => m.type === "joined" && m.room === "b");
  return {
    sioWs,
    sioPoll,
    sioWsGot: recorder(sioWs, event),
    sioPollGot: recorder(sioPoll, event),
    sioWsMark: recorder(sioWs, "mark"),
    sioPollMark: recorder(sioPoll, "mark"),
    sse,
    envelope,
    native,
    close() {
      sioWs.close();
      sioPoll.close();
      sse.close();
      envelope.close();
      native.close();
    },
  };
}

/**
 * After `event` went to rooms [a, b] and then a "mark" event to room b (the same path, so in
 * order after it): wait for the marker everywhere, then count. A duplicate would precede it.
 */
async function expectOnce(c: Clients, event: string, data: unknown) {
  await Promise.all([c.sioWsMark.next(), c.sioPollMark.next(), c.sse.next((e) => e.type === "mark"), c.envelope.next((e) => JSON.parse(e.data).event === "mark"), c.native.next((m) => m.event === "mark")]);
  expect(c.sioWsGot.got).toEqual([[data]]);
  expect(c.sioPollGot.got).toEqual([[data]]);
  expect(c.sse.received.filter((e) => e.type === event)).toEqual([{ type: event, data: JSON.stringify(data) }]);
  const env = c.envelope.received.map((e) => JSON.parse(e.data)).filter((m) => m.event === event);
  expect(env).toEqual([{ type: "event", room: "a", event, data }]);
  // Native frames name their room: one per room.
  expect(c.native.received.filter((m) => m.event === event)).toEqual([
    { type: "event", room: "a", event, data },
    { type: "event", room: "b", event, data },
  ]);
}

describe("one node, POST /emit with rooms [a, b]", () => {
  let srv: Started;
  beforeAll(async () => {
    srv = await startWsEmit();
  });
  afterAll(async () => {
    await srv?.stop();
  });

  test("Socket.IO (WebSocket and polling) and SSE clients in both rooms get it once; native once per room", async () => {
    const c = await clientsIn(srv, "multi");
    const r = await emit(srv.url, { event: "multi", rooms: ["a", "b"], data: 1 });
    // native 2 (one per room) + Socket.IO 2 + SSE 2 = 6 deliveries.
    expect(r.body).toMatchObject({ ok: true, delivered: 6 });
    await emit(srv.url, { event: "mark", room: "b" });
    await expectOnce(c, "multi", 1);
    c.close();
  });

  test("a client in only one of the rooms still gets it; one in neither does not", async () => {
    const one = await connectSio(srv.url, { transports: ["websocket"] });
    const none = await connectSio(srv.url, { transports: ["websocket"] });
    expect(await emitAck(one, "join", { room: "b" })).toEqual({ ok: true });
    expect(await emitAck(none, "join", { room: "c" })).toEqual({ ok: true });
    const got = recorder(one, "only");
    const gotNone = recorder(none, "only");
    const sse = openEventSource(`${srv.url}/sse?room=b`, ["only"]);
    await sse.opened;
    await emit(srv.url, { event: "only", rooms: ["a", "b"], data: 2 });
    expect(await got.next()).toEqual([2]);
    expect(await sse.next()).toEqual({ type: "only", data: "2" });
    await emit(srv.url, { event: "only", room: "c", data: "end" });
    expect(await gotNone.next()).toEqual(["end"]);
    expect(gotNone.got).toEqual([["end"]]);
    one.close();
    none.close();
    sse.close();
  });
});

describe("except: rooms whose members are left out (one node, and across two on Redis)", () => {
  test("POST /emit with except: clients of every kind in an except room get nothing, the rest as usual", { timeout: 20_000 }, async () => {
    await using redis = await startRedis();
    await using n1 = await startNode(redis.url);
    await using n2 = await startNode(redis.url);
    for (const [target, via] of [[n1, n1], [n2, n1]] as const) {
      // Every client is in a and b; the banned ones are in "banned" as well.
      const ok = await clientsIn(target, "ex");
      const banned = await clientsIn(target, "ex");
      for (const s of [banned.sioWs, banned.sioPoll]) expect(await emitAck(s, "join", { room: "banned" })).toEqual({ ok: true });
      banned.native.send({ type: "join", room: "banned" });
      await banned.native.next((m) => m.type === "joined" && m.room === "banned");
      const sseBanned = openEventSource(`${target.url}/sse?room=a&room=b&room=banned`, ["ex", "mark"]);
      await sseBanned.opened;
      const r = await emit(via.url, { event: "ex", rooms: ["a", "b"], except: ["banned"], data: 1 });
      expect(r.status).toBe(200);
      await emit(via.url, { event: "mark", room: "b" });
      await expectOnce(ok, "ex", 1);
      await Promise.all([banned.sioWsMark.next(), banned.sioPollMark.next(), banned.native.next((m) => m.event === "mark"), sseBanned.next((e) => e.type === "mark")]);
      expect([banned.sioWsGot.got, banned.sioPollGot.got]).toEqual([[], []]);
      expect(banned.native.received.filter((m) => m.event === "ex")).toEqual([]);
      expect(sseBanned.received.filter((e) => e.type === "ex")).toEqual([]);
      ok.close();
      banned.close();
      sseBanned.close();
    }
    // Bad except values are a 400 naming the field.
    const bad = await emit(n1.url, { event: "ex", except: ["has space"] });
    expect([bad.status, bad.body.message]).toEqual([400, expect.stringContaining('"except"')]);
  });
});

describe("two nodes on one Redis", () => {
  let redis: RedisServer;
  let a: Started, b: Started;
  const FAST = ["--redis-canary", "400ms", "--redis-canary-timeout", "300ms"];
  beforeAll(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([startWsEmit(["--redis", redis.url, ...FAST]), startWsEmit(["--redis", redis.url, ...FAST])]);
    await Promise.all([a.waitForLine(/redis fan-out healthy/), b.waitForLine(/redis fan-out healthy/)]);
    await Promise.all([a.waitForLine(/\[redis-ingest\] subscribed/), b.waitForLine(/\[redis-ingest\] subscribed/)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.[Symbol.asyncDispose]();
  });

  test("POST /emit on node A: clients on A and on B get it once", async () => {
    const onA = await clientsIn(a, "x-http");
    const onB = await clientsIn(b, "x-http");
    expect((await emit(a.url, { event: "x-http", rooms: ["a", "b"], data: "h" })).body).toMatchObject({ ok: true, delivered: 6, cluster: true });
    await emit(a.url, { event: "mark", room: "b" });
    await expectOnce(onA, "x-http", "h");
    await expectOnce(onB, "x-http", "h");
    onA.close();
    onB.close();
  });

  test("Redis ingest with a room list (JSON channel, python-socketio queue, socket.io emitter): once on each node", async () => {
    const cases: Array<[string, (event: string) => Promise<void>]> = [
      ["json", async (ev) => void (await redisCli(redis.port, "PUBLISH", "ws-emit", JSON.stringify({ event: ev, rooms: ["a", "b"], data: "r" })))],
      ["py", async (ev) => void (await redisCli(redis.port, "PUBLISH", "flask-socketio", JSON.stringify({ method: "emit", event: ev, data: ["r"], namespace: "/", room: ["a", "b"], skip_sid: null, callback: null, host_id: "x" })))],
      [
        "emitter",
        async (ev) => {
          const pub = new Redis(redis.url);
          pub.on("error", () => {});
          new Emitter(pub).to("a").to("b").emit(ev, "r");
          await pub.quit();
        },
      ],
    ];
    for (const [name, send] of cases) {
      const event = `x-${name}`;
      const onA = await clientsIn(a, event);
      const onB = await clientsIn(b, event);
      await send(event);
      // The marker on the JSON channel: published after, delivered after on the one subscriber connection.
      await redisCli(redis.port, "PUBLISH", "ws-emit", JSON.stringify({ event: "mark", room: "b" }));
      await expectOnce(onA, event, "r");
      await expectOnce(onB, event, "r");
      onA.close();
      onB.close();
    }
  }, 30_000);
});
