/**
 * Engine.IO / Socket.IO on the wire, with a raw client (fetch + WebSocket): the upgrade's
 * frame hand-over, acks only when asked, heartbeats, limits and floods. socket.io-client
 * is used where the user-visible outcome matters (kept alive by pings, kicked on a flood).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eioUrl, handshake, openRawWs, poll, send, SEP } from "../helpers/engineio.ts";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, once, recorder } from "../helpers/sio.ts";

const SECRET = "123";
let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--secret", SECRET, "--max-bad-frames", "3", "--max-join-failures", "3", "--sio-max-http-buffer", "2k", "--max-buffer", "16k"]);
});
afterAll(() => srv.stop());
const push = (body: Record<string, unknown>) => emit(srv.url, { ...body, secret: SECRET });

/** A polling session connected to namespace "/". */
async function pollingSession(): Promise<string> {
  const h = await handshake(srv.url);
  expect(h.upgrades).toEqual(["websocket"]);
  expect(h.maxPayload).toBe(2048);
  expect((await send(srv.url, h.sid, "40")).text).toBe("ok");
  const [connect] = await poll(srv.url, h.sid);
  expect(connect).toMatch(/^40\{"sid":"[\w-]+"\}$/);
  return h.sid;
}

describe("Engine.IO upgrade from polling to WebSocket", () => {
  test("frames queued during the probe go first on the socket, then new ones; none lost, none twice", async () => {
    const sid = await pollingSession();
    expect((await send(srv.url, sid, '421["join",{"room":"up"}]')).status).toBe(200);
    expect(await poll(srv.url, sid)).toEqual(['431[{"ok":true}]']);

    const ws = await openRawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    // While probing, a GET is released at once with a noop so the client can pause polling.
    expect(await poll(srv.url, sid)).toEqual(["6"]);
    // Emitted now: no GET is waiting, so they queue in the session.
    for (let i = 0; i < 3; i++) await push({ event: "n", room: "up", data: i });
    ws.send("5");
    for (let i = 3; i < 5; i++) await push({ event: "n", room: "up", data: i });
    for (let i = 0; i < 5; i++) expect(await ws.next()).toBe(`42["n",${i}]`);
    // The polling transport is gone for this session.
    expect((await fetch(eioUrl(srv.url, { sid }))).status).toBe(400);
    // Nothing doubled: the next frame after a marker is the marker.
    await push({ event: "marker", room: "up" });
    expect(await ws.next()).toBe('42["marker"]');
    // Leave on the socket works on the moved subscription.
    ws.send('4212["leave",{"room":"up"}]');
    expect(await ws.next()).toBe('4312[{"ok":true}]');
    expect((await push({ event: "n", room: "up", data: 9 })).body.delivered).toBe(0);
    ws.close();
  });

  test("a WebSocket that opens but never probes leaves polling as it was", async () => {
    const sid = await pollingSession();
    expect((await send(srv.url, sid, '421["join",{"room":"idle-probe"}]')).status).toBe(200);
    expect(await poll(srv.url, sid)).toEqual(['431[{"ok":true}]']);
    const ws = await openRawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    // Without `2probe` the GET still waits for real packets (no noop loop).
    const got = poll(srv.url, sid);
    await push({ event: "n", room: "idle-probe", data: 1 });
    expect(await got).toEqual(['42["n",1]']);
    ws.close();
    await send(srv.url, sid, "1");
  });

  test("a second probe for the same session is refused", async () => {
    const sid = await pollingSession();
    const ws = await openRawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    ws.send("2probe");
    expect(await ws.next()).toBe("3probe");
    const res = await fetch(`${srv.url}/socket.io/?EIO=4&transport=websocket&sid=${sid}`, {
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 3, message: "Bad request" });
    ws.close();
  });
});

describe("Socket.IO packets", () => {
  test("a join without an ack id gets no answer; with one it does", async () => {
    const ws = await openRawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    const open = JSON.parse((await ws.next()).slice(1));
    expect(open).toMatchObject({ upgrades: [], pingInterval: 25000, pingTimeout: 20000 });
    ws.send("40");
    expect(await ws.next()).toMatch(/^40\{"sid":/);
    ws.send('42["join",{"room":"quiet"}]');
    ws.send('427["join",{"room":"dir::x","secret":"s"}]');
    expect(await ws.next()).toMatch(/^437\[\{"ok":false,"error":"forbidden"/);
    // Namespace packets: connect /ns, events there, disconnect.
    ws.send("40/ns,");
    expect(await ws.next()).toMatch(/^40\/ns,\{"sid":/);
    ws.send('42/ns,8["join",{"room":"r"}]');
    expect(await ws.next()).toBe('43/ns,8[{"ok":true}]');
    await push({ event: "e", room: "r", namespace: "/ns", args: [] });
    expect(await ws.next()).toBe('42/ns,["e"]');
    ws.send("41/ns,");
    // Packets on one socket are handled in order: once this ack is back, the disconnect was handled.
    ws.send('429["leave",{"room":"nothing"}]');
    expect(await ws.next()).toBe('439[{"ok":true}]');
    expect((await push({ event: "e", room: "r", namespace: "/ns" })).body.delivered).toBe(0);
    // "quiet" was joined although no ack was asked.
    await push({ event: "e", room: "quiet", data: null });
    expect(await ws.next()).toBe('42["e",null]');
    ws.close();
  });

  test("refused packets are counted and a flood closes the session (polling)", async () => {
    const sid = await pollingSession();
    // Valid packets the server refuses (joins without a room) count towards --max-bad-frames.
    expect((await send(srv.url, sid, '42["join",{}]', '42["join",5]', '42["leave",{}]', '42["join",[]]')).status).toBe(200);
    // Kicked: `41` (so socket.io-client does not reconnect) then the Engine.IO close.
    expect(await poll(srv.url, sid)).toEqual(["41", "1"]);
    expect((await fetch(eioUrl(srv.url, { sid }))).status).toBe(400);
    const m = await (await fetch(`${srv.url}/metrics`, { headers: { Authorization: `Bearer ${SECRET}` } })).text();
    expect(m).toMatch(/ws_emit_client_errors_total\{code="bad_request"\} [4-9]/);
  });

  test("failed joins past the limit disconnect the client (io server disconnect)", async () => {
    const socket = await connectSio(srv.url, { transports: ["websocket"] });
    const gone = once(socket, "disconnect");
    for (let i = 0; i < 3; i++) expect(await emitAck(socket, "join", { room: "dir::a", secret: "x" })).toMatchObject({ ok: false, error: "forbidden" });
    socket.emit("join", { room: "dir::a", secret: "x" });
    expect(await gone).toEqual(["io server disconnect", undefined]);
  });

  test("a POST over the max HTTP buffer size is refused with 413 and ends the session", async () => {
    const sid = await pollingSession();
    const r = await send(srv.url, sid, `42["x","${"a".repeat(3000)}"]`);
    expect(r.status).toBe(413);
    expect((await fetch(eioUrl(srv.url, { sid }), { method: "POST", body: "3" })).status).toBe(400);
  });

  test("--sio-max-http-buffer above --max-body is honoured: a 1.5 MiB polling POST is taken", async () => {
    await using big = await startWsEmit(["--max-body", "64k", "--sio-max-http-buffer", "2m"]);
    const { sid } = await handshake(big.url);
    const r = await send(big.url, sid, "40", `42["x","${"a".repeat(1536 * 1024)}"]`);
    expect(r.status).toBe(200);
    const over = await send(big.url, sid, `42["x","${"a".repeat(3 * 1024 * 1024)}"]`);
    expect(over.status).toBe(413);
  });

  test("a polling client that stops fetching is closed once its buffer is full, and counted", async () => {
    const sid = await pollingSession();
    expect((await send(srv.url, sid, '421["join",{"room":"slow"}]')).status).toBe(200);
    expect(await poll(srv.url, sid)).toEqual(['431[{"ok":true}]']);
    const metric = async () => {
      const m = await (await fetch(`${srv.url}/metrics`, { headers: { Authorization: `Bearer ${SECRET}` } })).text();
      return Number(/ws_emit_drops_total\{reason="backpressure"\} (\d+)/.exec(m)?.[1] ?? 0);
    };
    const before = await metric();
    const big = "x".repeat(4000);
    const delivered: number[] = [];
    for (let i = 0; i < 6; i++) delivered.push((await push({ event: "big", room: "slow", data: big })).body.delivered);
    // Four fit in 16k; the fifth does not (dropped, session closed), the sixth finds nobody.
    expect(delivered).toEqual([1, 1, 1, 1, 0, 0]);
    expect(await metric()).toBe(before + 1);
    expect(await poll(srv.url, sid)).toEqual(["1"]);
  });

  test("two GETs at once are a protocol error", async () => {
    const sid = await pollingSession();
    // Whichever arrives second is refused; the waiting one then gets the close packet.
    const answers = await Promise.all([0, 1].map(async () => {
      const r = await fetch(eioUrl(srv.url, { sid }));
      return `${r.status} ${await r.text()}`;
    }));
    expect(answers.sort()).toEqual(["200 1", '400 {"code":3,"message":"Bad request"}']);
  });
});

describe("Engine.IO heartbeat", () => {
  let fast: Started;
  beforeAll(async () => {
    fast = await startWsEmit(["--secret", SECRET, "--sio-ping-interval", "150ms", "--sio-ping-timeout", "300ms"]);
  });
  afterAll(() => fast.stop());

  test("socket.io-client answers pings and stays connected past several intervals", async () => {
    for (const transports of [["polling"], ["websocket"]]) {
      const socket = await connectSio(fast.url, { transports });
      const id = socket.io.engine.id;
      for (let i = 0; i < 4; i++) await once(socket.io, "ping");
      expect(socket.connected).toBe(true);
      expect(socket.io.engine.id).toBe(id);
      expect(await emitAck(socket, "join", { room: "alive" })).toEqual({ ok: true });
      const rec = recorder(socket, "update");
      await emit(fast.url, { event: "update", room: "alive", data: 1, secret: SECRET });
      expect(await rec.next()).toEqual([1]);
      socket.close();
    }
  });

  test("a client that never pongs is closed after pingInterval + pingTimeout", async () => {
    const h = await handshake(fast.url);
    expect(h).toMatchObject({ pingInterval: 150, pingTimeout: 300 });
    expect(await poll(fast.url, h.sid)).toEqual(["2"]);
    // No pong: the next GET is answered with the close packet.
    expect(await poll(fast.url, h.sid)).toEqual(["1"]);
    expect((await fetch(eioUrl(fast.url, { sid: h.sid }))).status).toBe(400);
    const ws = await openRawWs(`${fast.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    expect(await ws.next()).toMatch(/^0\{/);
    expect(await ws.next()).toBe("2");
    expect((await ws.closed).code).toBe(1000);
  });
});

describe("connection limits and drain", () => {
  test("--max-connections refuses the handshake with 503; SIGTERM ends polling sessions so clients reconnect", async () => {
    await using one = await startWsEmit(["--max-connections", "1", "--drain", "200ms"]);
    const socket = await connectSio(one.url, { transports: ["polling"] });
    const refused = await fetch(`${one.url}/socket.io/?EIO=4&transport=polling`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toBe("too_many_connections");
    const gone = once(socket, "disconnect");
    one.proc.kill("SIGTERM");
    // "transport close" (not "io server disconnect"): socket.io-client would reconnect elsewhere.
    expect((await gone)[0]).toBe("transport close");
    expect(await one.proc.exited).toBe(0);
  });
});

test("packets in one polling payload are split on \\x1e and applied in order (join, then leave)", async () => {
  const sid = await pollingSession();
  expect((await send(srv.url, sid, '421["join",{"room":"p1"}]', '422["leave",{"room":"p1"}]', '423["join",{"room":"p2"}]')).status).toBe(200);
  const got = await poll(srv.url, sid);
  expect(got.join(SEP)).toBe(['431[{"ok":true}]', '432[{"ok":true}]', '433[{"ok":true}]'].join(SEP));
  expect((await push({ event: "e", room: "p1" })).body.delivered).toBe(0);
  expect((await push({ event: "e", room: "p2" })).body.delivered).toBe(1);
  await send(srv.url, sid, "1");
});

describe("Engine.IO handshake limits", () => {
  test("maxPayload is what every transport takes: --max-message caps it below --sio-max-http-buffer", async () => {
    await using s = await startWsEmit(["--max-message", "16k"]);
    expect((await handshake(s.url)).maxPayload).toBe(16 * 1024);
  });
});
