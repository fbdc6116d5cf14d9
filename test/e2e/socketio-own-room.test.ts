/**
 * As with python-socketio / Flask-SocketIO, every Socket.IO client is in a room named by its
 * socket id, so a backend can emit to one client (`emit(..., to=sid)`); no other client may
 * join that room (PROTOCOLS.md §1).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, once } from "../helpers/sio.ts";
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

  test("no other client may join it, on any transport; once the client is gone the name is free", async () => {
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
    // The server learns of the close a moment later: ask again until the name is free (bounded).
    let reply: any;
    for (let i = 2; i < 100; i++) {
      n.send({ type: "join", room: id, id: i });
      reply = await n.next((m) => m.id === i);
      if (reply.type === "joined") break;
    }
    expect(reply).toMatchObject({ type: "joined" });
    b.close();
    n.close();
  });
});
