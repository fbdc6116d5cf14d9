/**
 * As with python-socketio / Flask-SocketIO, every Socket.IO client is in a room named by its
 * socket id, so a backend can emit to one client (`emit(..., to=sid)`); no other client may
 * join that room (PROTOCOLS.md §1).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRedis } from "../helpers/redis.ts";
import { emit, startNode, startWsEmit, until, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, once, recorder } from "../helpers/sio.ts";
import { openWs } from "../helpers/ws.ts";

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--max-rooms", "1"]);
});
afterAll(() => srv.stop());

describe("a Socket.IO client's own room (its socket id)", () => {
  for (const transports of [["polling"], ["websocket"], ["polling", "websocket"]]) {
    test(`an emit to room=<socket.id> reaches that client only (${transports.join("+")})`, async () => {
      const a = await connectSio(srv.url, { transports });
      const b = await connectSio(srv.url, { transports });
      const got = once(a, "direct");
      const r = await emit(srv.url, { event: "direct", room: a.id, data: { to: "a" } });
      expect(r.body.delivered).toBe(1);
      expect(await got).toEqual([{ to: "a" }]);
      // Its own room does not use up --max-rooms (1 here), nor show among /stats rooms.
      expect(await emitAck(a, "join", { room: "time" })).toEqual({ ok: true });
      const stats = (await (await fetch(`${srv.url}/stats`)).json()) as any;
      expect([stats.rooms, stats.top_rooms]).toEqual([1, { time: 1 }]);
      expect(await (await fetch(`${srv.url}/metrics`)).text()).toContain("ws_emit_rooms 1\n");
      a.close();
      b.close();
    });
  }

  test("a multi-room emit naming a client's own room and a room it is in reaches it once", async () => {
    for (const transports of [["websocket"], ["polling"]]) {
      const a = await connectSio(srv.url, { transports });
      const b = await connectSio(srv.url, { transports });
      try {
        expect(await emitAck(a, "join", { room: "x" })).toEqual({ ok: true });
        expect(await emitAck(b, "join", { room: "x" })).toEqual({ ok: true });
        const [ra, rb] = [recorder(a, "m"), recorder(b, "m")];
        expect((await emit(srv.url, { event: "m", rooms: [a.id, "x"], data: 1 })).body.delivered).toBe(2);
        expect((await emit(srv.url, { event: "m", rooms: ["x", a.id], data: 2 })).body.delivered).toBe(2);
        expect((await emit(srv.url, { event: "m", rooms: [a.id, b.id], data: 3 })).body.delivered).toBe(2);
        expect((await emit(srv.url, { event: "m", room: b.id, data: 4 })).body.delivered).toBe(1);
        for (const want of [[1], [2], [3]]) expect(await ra.next()).toEqual(want);
        for (const want of [[1], [2], [3], [4]]) expect(await rb.next()).toEqual(want);
        expect([ra.got.length, rb.got.length]).toEqual([3, 4]);
      } finally {
        a.close();
        b.close();
      }
    }
  });

  test("no other client may join it, on any transport, even after the client is gone", async () => {
    const a = await connectSio(srv.url, { transports: ["websocket"] });
    const b = await connectSio(srv.url, { transports: ["websocket"] });
    expect(await emitAck(b, "join", { room: a.id })).toMatchObject({ ok: false, error: "forbidden" });
    const n = await openWs(`${srv.wsUrl}/ws`);
    n.send({ type: "join", room: a.id, id: 1 });
    expect(await n.next()).toMatchObject({ type: "error", code: "forbidden", id: 1 });
    expect((await fetch(`${srv.url}/sse?room=${a.id}`)).status).toBe(403);
    expect((await emit(srv.url, { event: "direct", room: a.id })).body.delivered).toBe(1);
    const id = a.id!;
    a.close();
    await until(async () => ((await (await fetch(`${srv.url}/stats`)).json()) as any).connections_by_transport.socketio === 1, "a's close to be seen");
    n.send({ type: "join", room: id, id: 2 });
    expect(await n.next((m) => m.id === 2)).toMatchObject({ type: "error", code: "forbidden" });
    // Only names shaped like a socket id are refused: one character off is an ordinary room.
    const other = id.slice(0, -1) + (id.endsWith("A") ? "B" : "A");
    n.send({ type: "join", room: other, id: 3 });
    expect(await n.next((m) => m.id === 3)).toMatchObject({ type: "joined", room: other });
    b.close();
    n.close();
  });
});

describe("across nodes (Redis)", () => {
  test("a client on another node cannot join a Socket.IO client's own room either", { timeout: 20_000 }, async () => {
    await using redis = await startRedis();
    // Both subscribed to the fan-out before n2 emits to a client of n1.
    await using n1 = await startNode(redis.url);
    await using n2 = await startNode(redis.url);
    const victim = await connectSio(n1.url, { transports: ["websocket"] });
    const attacker = await connectSio(n2.url, { transports: ["websocket"] });
    try {
      expect(await emitAck(attacker, "join", { room: victim.id })).toMatchObject({ ok: false, error: "forbidden" });
      const ws = await openWs(`${n2.wsUrl}/ws`);
      ws.send({ type: "join", room: victim.id, id: 1 });
      expect(await ws.next()).toMatchObject({ type: "error", code: "forbidden", id: 1 });
      expect((await fetch(`${n2.url}/sse?room=${victim.id}`)).status).toBe(403);
      // The backend still reaches the victim, from either node.
      const got = once(victim, "private");
      expect((await emit(n2.url, { event: "private", room: victim.id, data: 1 })).status).toBe(200);
      expect(await got).toEqual([1]);
      ws.close();
    } finally {
      victim.close();
      attacker.close();
    }
  });
});
