/** Socket.IO compatibility with the real socket.io-client 4.x (and 3.x) against the real server. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { io as ioV3 } from "socket.io-client-v3";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, once, recorder } from "../helpers/sio.ts";
import { upgradeStatus } from "../helpers/ws.ts";

const SECRET = "123";
let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--secret", SECRET, "--roomspace-secret", "dir=S3cret", "--cors", "http://localhost:7788"]);
});
afterAll(() => srv.stop());

const send = (body: Record<string, unknown>) => emit(srv.url, { ...body, secret: SECRET });

describe("socket.io-client 4.x", () => {
  test("default transports: starts on polling, upgrades to websocket, events arrive exactly once", async () => {
    const socket = await connectSio(srv.url);
    const engine = socket.io.engine;
    if (engine.transport.name !== "websocket") await once(engine, "upgrade");
    expect(engine.transport.name).toBe("websocket");
    expect(await emitAck(socket, "join", { room: "time" })).toEqual({ ok: true });
    const rec = recorder(socket, "update");
    for (let i = 0; i < 20; i++) expect((await send({ event: "update", room: "time", data: { time: i } })).body.delivered).toBe(1);
    for (let i = 0; i < 20; i++) expect(await rec.next()).toEqual([{ time: i }]);
    // A marker on the same connection: everything before it has arrived, and nothing twice.
    const marker = recorder(socket, "marker");
    await send({ event: "marker", room: "time" });
    await marker.next();
    expect(rec.got.length).toBe(20);
    socket.close();
  });

  test("polling with the upgrade turned off stays on polling", async () => {
    const socket = await connectSio(srv.url, { upgrade: false });
    expect(socket.io.engine.transport.name).toBe("polling");
    expect(await emitAck(socket, "join", { room: "pre" })).toEqual({ ok: true });
    const rec = recorder(socket, "update");
    await send({ event: "update", room: "pre", data: 1 });
    expect(await rec.next()).toEqual([1]);
    expect(socket.io.engine.transport.name).toBe("polling");
    socket.close();
  });

  test("websocket only", async () => {
    const socket = await connectSio(srv.url, { transports: ["websocket"] });
    expect(socket.io.engine.transport.name).toBe("websocket");
    expect(await emitAck(socket, "join", { room: "wsonly" })).toEqual({ ok: true });
    const rec = recorder(socket, "update");
    await send({ event: "update", room: "wsonly", data: { time: 5 } });
    expect(await rec.next()).toEqual([{ time: 5 }]);
    expect(await emitAck(socket, "leave", { room: "wsonly" })).toEqual({ ok: true });
    expect((await send({ event: "update", room: "wsonly", data: 6 })).body.delivered).toBe(0);
    socket.close();
  });

  test("polling only", async () => {
    const socket = await connectSio(srv.url, { transports: ["polling"] });
    expect(await emitAck(socket, "join", { room: "pollonly" })).toEqual({ ok: true });
    const rec = recorder(socket, "update");
    await send({ event: "update", room: "pollonly", data: "a" });
    await send({ event: "update", room: "pollonly", data: "b" });
    expect(await rec.next()).toEqual(["a"]);
    expect(await rec.next()).toEqual(["b"]);
    expect(socket.io.engine.transport.name).toBe("polling");
    socket.close();
  });

  test("private rooms: wrong, missing and right secret, answered through acks", async () => {
    const socket = await connectSio(srv.url);
    expect(await emitAck(socket, "join", { room: "dir::a.txt", secret: "nope" })).toMatchObject({ ok: false, error: "forbidden" });
    expect(await emitAck(socket, "join", { room: "dir::a.txt" })).toMatchObject({ ok: false, error: "forbidden" });
    expect(await emitAck(socket, "join", { room: "" })).toMatchObject({ ok: false, error: "bad_request" });
    expect(await emitAck(socket, "join", "time")).toMatchObject({ ok: false, error: "bad_request" });
    expect((await send({ event: "changed", room: "dir::a.txt", data: "x" })).body.delivered).toBe(0);
    expect(await emitAck(socket, "join", { room: "dir::a.txt", secret: "S3cret" })).toEqual({ ok: true });
    const rec = recorder(socket, "changed");
    await send({ event: "changed", room: "dir::a.txt", data: "aaa2" });
    expect(await rec.next()).toEqual(["aaa2"]);
    socket.close();
  });

  test("events with zero, one and two arguments; broadcast without a room reaches every client", async () => {
    const a = await connectSio(srv.url);
    const b = await connectSio(srv.url, { transports: ["polling"] });
    await emitAck(a, "join", { room: "args" });
    const rec = recorder(a, "ev");
    const recB = recorder(b, "ev");
    await send({ event: "ev", room: "args" });
    await send({ event: "ev", room: "args", data: { x: 1 } });
    await send({ event: "ev", room: "args", args: [1, "two"] });
    expect(await rec.next()).toEqual([]);
    expect(await rec.next()).toEqual([{ x: 1 }]);
    expect(await rec.next()).toEqual([1, "two"]);
    const r = await send({ event: "ev", data: "all" });
    expect(r.body.delivered).toBeGreaterThanOrEqual(2);
    expect(await rec.next()).toEqual(["all"]);
    // b joined no room: the broadcast is the first thing it gets.
    expect(await recB.next()).toEqual(["all"]);
    a.close();
    b.close();
  });

  test("namespaces: an emit to /chat reaches /chat clients only", async () => {
    const chat = await connectSio(`${srv.url}/chat`);
    const root = await connectSio(srv.url, { transports: ["websocket"] });
    expect(await emitAck(chat, "join", { room: "lobby" })).toEqual({ ok: true });
    expect(await emitAck(root, "join", { room: "lobby" })).toEqual({ ok: true });
    const recChat = recorder(chat, "msg");
    const recRoot = recorder(root, "msg");
    await send({ event: "msg", room: "lobby", namespace: "/chat", data: "to chat" });
    expect(await recChat.next()).toEqual(["to chat"]);
    await send({ event: "msg", room: "lobby", data: "to root" });
    expect(await recRoot.next()).toEqual(["to root"]);
    expect(recRoot.got).toEqual([["to root"]]);
    expect(recChat.got).toEqual([["to chat"]]);
    chat.close();
    root.close();
  });

  test("two namespaces on one connection (multiplexed)", async () => {
    const root = await connectSio(srv.url);
    const admin = root.io.socket("/admin");
    admin.connect();
    await once(admin, "connect");
    expect(await emitAck(admin, "join", { room: "ops" })).toEqual({ ok: true });
    const rec = recorder(admin, "alert");
    await send({ event: "alert", room: "ops", namespace: "/admin", data: 1 });
    expect(await rec.next()).toEqual([1]);
    admin.disconnect();
    root.close();
  });

  test("unknown client events are ignored; the connection stays usable", async () => {
    const socket = await connectSio(srv.url, { transports: ["websocket"] });
    socket.emit("whatever", { a: 1 });
    expect(await emitAck(socket, "join", { room: "still" })).toEqual({ ok: true });
    expect(socket.connected).toBe(true);
    socket.close();
  });

  test("a join carrying binary data is answered with a clear refusal, on both transports", async () => {
    for (const transports of [["websocket"], ["polling"]]) {
      const socket = await connectSio(srv.url, { transports });
      expect(await emitAck(socket, "join", { room: "time", blob: new Uint8Array([1, 2]) })).toMatchObject({
        ok: false,
        error: "bad_request",
        message: expect.stringContaining("binary"),
      });
      expect(await emitAck(socket, "join", { room: "time" })).toEqual({ ok: true });
      socket.close();
    }
  });

  test("a disallowed Origin is refused on the handshake with 400 (polling and websocket)", async () => {
    const res = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: "http://evil.example" } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("origin_not_allowed");
    const ws = await upgradeStatus(`${srv.url}/socket.io/?EIO=4&transport=websocket`, { Origin: "http://evil.example" });
    expect(ws.status).toBe(400);
    const socket = (await import("socket.io-client")).io(srv.url, { transports: ["polling"], reconnection: false, extraHeaders: { Origin: "http://evil.example" } });
    const [err] = await once(socket, "connect_error");
    expect(String(err.message)).toMatch(/xhr poll error|400/);
    socket.close();
    const ok = await connectSio(srv.url, { transports: ["polling"], extraHeaders: { Origin: "http://localhost:7788" } });
    ok.close();
  });
});

describe("socket.io-client 3.x", () => {
  test("connects (default transports and websocket only), joins with an ack, receives an event", async () => {
    for (const transports of [undefined, ["websocket"]]) {
      const socket = ioV3(srv.url, { reconnection: false, forceNew: true, ...(transports ? { transports } : {}) });
      await once(socket, "connect");
      const ack = await new Promise((res) => socket.emit("join", { room: "v3" }, res));
      expect(ack).toEqual({ ok: true });
      const got = once(socket, "update");
      await send({ event: "update", room: "v3", data: { time: 3 } });
      expect(await got).toEqual([{ time: 3 }]);
      socket.close();
    }
  });
});

describe("Engine.IO errors as engine.io answers them", () => {
  test("unknown sid, old protocol, unknown transport", async () => {
    const bad = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling&sid=nope`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: 1, message: "Session ID unknown" });
    const v3 = await fetch(`${srv.url}/socket.io/?EIO=3&transport=polling`);
    expect(v3.status).toBe(400);
    expect(await v3.json()).toMatchObject({ code: 5, message: "Unsupported protocol version" });
    const tr = await fetch(`${srv.url}/socket.io/?EIO=4&transport=flash`);
    expect(tr.status).toBe(400);
    expect(await tr.json()).toEqual({ code: 0, message: "Transport unknown" });
  });

  test("the browser bundle is served like the official server does", async () => {
    for (const f of ["socket.io.min.js", "socket.io.js"]) {
      const res = await fetch(`${srv.url}/socket.io/${f}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("javascript");
      const text = await res.text();
      expect(text).toContain("4.8.3");
      const again = await fetch(`${srv.url}/socket.io/${f}`, { headers: { "If-None-Match": res.headers.get("etag")! } });
      expect(again.status).toBe(304);
    }
  });

  test("metrics count Socket.IO connections by transport", async () => {
    const p = await connectSio(srv.url, { transports: ["polling"] });
    const w = await connectSio(srv.url, { transports: ["websocket"] });
    const text = await (await fetch(`${srv.url}/metrics`, { headers: { Authorization: `Bearer ${SECRET}` } })).text();
    expect(text).toMatch(/ws_emit_connections\{transport="polling"\} [1-9]/);
    expect(text).toMatch(/ws_emit_connections\{transport="socketio"\} [1-9]/);
    p.close();
    w.close();
  });
});
