/**
 * Redis ingest end to end: a real redis-server, the real ws-emit, a native WebSocket client,
 * and the real senders: Debian's python3-socketio and python3-flask-socketio (pickle),
 * python-socketio >= 5.15.1's JSON bytes, redis-cli on the JSON channel, and the npm
 * @socket.io/redis-emitter over ioredis.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Emitter } from "@socket.io/redis-emitter";
import Redis from "ioredis";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { startWsEmit, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, once, recorder } from "../helpers/sio.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";

let redis: RedisServer;
let srv: Started;
let client: TestWs;

/** Run a Python snippet with Debian's python3 (which has socketio, flask_socketio, redis). */
async function python(code: string, env: Record<string, string> = {}): Promise<string> {
  const proc = Bun.spawn(["/usr/bin/python3", "-c", code], { stdout: "pipe", stderr: "pipe", env: { PATH: "/usr/bin:/bin", ...env } });
  const [out, err, rc] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (rc !== 0) throw new Error(`python exited ${rc}: ${err}`);
  return out;
}

const isEvent = (event: string) => (m: any) => m?.type === "event" && m.event === event;

async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const hit = text.split("\n").find((l) => l.startsWith(`${line} `));
  return hit ? Number(hit.slice(line.length + 1)) : 0;
}

/**
 * Namespaced emits do not reach native clients (they listen on "/"). Prove one was taken
 * and not delivered: it is counted, and a later sentinel on "/" arrives with nothing before it.
 */
async function sentinel(c: TestWs, name: string) {
  await redisCli(redis.port, "PUBLISH", "ws-emit", JSON.stringify({ event: name, room: "time" }));
  return c.next(isEvent(name));
}

beforeAll(async () => {
  redis = await startRedis();
  srv = await startWsEmit(["--redis", redis.url]);
  await srv.waitForLine(/subscribed to .*flask-socketio/);
  client = await openWs(`${srv.wsUrl}/ws?room=time`);
  expect(await client.next()).toEqual({ type: "joined", room: "time" });
});
afterAll(async () => {
  client?.close();
  await srv?.stop();
  await redis?.[Symbol.asyncDispose]();
});

describe("python-socketio and Flask-SocketIO (Debian packages, pickle)", () => {
  test("RedisManager(write_only=True).emit to a room", async () => {
    await python(`import socketio; socketio.RedisManager('${redis.url}', write_only=True).emit('update', {'time': 1}, room='time')`);
    expect(await client.next(isEvent("update"))).toEqual({ type: "event", room: "time", event: "update", data: { time: 1 } });
  });

  test("broadcast (no room) and several arguments (tuple)", async () => {
    await python(`import socketio; m = socketio.RedisManager('${redis.url}', write_only=True)
m.emit('everyone', {'n': 2})
m.emit('multi', ('a', 2, None), room='time')`);
    expect(await client.next(isEvent("everyone"))).toEqual({ type: "event", event: "everyone", data: { n: 2 } });
    expect(await client.next(isEvent("multi"))).toEqual({ type: "event", room: "time", event: "multi", args: ["a", 2, null] });
  });

  test("to a namespace: taken and counted, not sent to clients of /", async () => {
    const before = await metric('ws_emit_events_in_total{source="redis-socketio"}');
    await python(`import socketio; socketio.RedisManager('${redis.url}', write_only=True).emit('chat', {'x': 1}, namespace='/chat', room='time')`);
    await sentinel(client, "after-chat");
    expect(client.received.some(isEvent("chat"))).toBe(false);
    expect(await metric('ws_emit_events_in_total{source="redis-socketio"}')).toBe(before + 1);
  });

  test("flask_socketio.SocketIO(message_queue=url).emit, outside any app", async () => {
    await python(`import flask_socketio; flask_socketio.SocketIO(message_queue='${redis.url}').emit('update', {'from': 'flask'}, room='time')`);
    expect(await client.next(isEvent("update"))).toEqual({ type: "event", room: "time", event: "update", data: { from: "flask" } });
  });

  test("Flask-SocketIO emit(..., to=sid) reaches that one Socket.IO client", { timeout: 20_000 }, async () => {
    const a = await connectSio(srv.url);
    const b = await connectSio(srv.url);
    const got = once(a, "private");
    let leaked = false;
    b.on("private", () => (leaked = true));
    const after = once(b, "after");
    await python(`import flask_socketio
s = flask_socketio.SocketIO(message_queue='${redis.url}')
s.emit('private', {'for': 'a'}, to='${a.id}')
s.emit('after', 1, to='${b.id}')`);
    expect(await got).toEqual([{ for: "a" }]);
    // In order on one node: had "private" been sent to b, it would have arrived before "after".
    await after;
    expect(leaked).toBe(false);
    a.close();
    b.close();
  });

  test("RedisManager.disconnect(sid) ends that Socket.IO client's connection (io server disconnect)", { timeout: 20_000 }, async () => {
    const a = await connectSio(srv.url);
    const gone = once(a, "disconnect", 15_000);
    await python(`import socketio; socketio.RedisManager('${redis.url}', write_only=True).disconnect('${a.id}', namespace='/')`);
    expect((await gone)[0]).toBe("io server disconnect");
  });

  test("enter_room / leave_room by socket id and RedisManager.close_room act on this node's Socket.IO clients", { timeout: 30_000 }, async () => {
    const a = await connectSio(srv.url);
    const b = await connectSio(srv.url);
    try {
      const [ra, rb] = [recorder(a, "news"), recorder(b, "news")];
      // python-socketio's enter_room/leave_room dicts (JSON, as its >= 5.14 managers publish them).
      const session = (method: string, sid: string) =>
        redisCli(redis.port, "PUBLISH", "socketio", JSON.stringify({ method, sid, namespace: "/", room: "lobby", host_id: "h" }));
      // Everything below goes on the "socketio" channel, so ws-emit applies it in this order.
      const emitTo = (room: string, data: unknown) =>
        python(`import socketio; socketio.RedisManager('${redis.url}', write_only=True).emit('news', ${JSON.stringify(data)}, room='${room}')`);
      for (const s of [a, b]) expect(await session("enter_room", s.id!)).toBe("1");
      await emitTo("lobby", 1);
      expect(await ra.next()).toEqual([1]);
      expect(await rb.next()).toEqual([1]);
      await session("leave_room", a.id!);
      await emitTo("lobby", 2);
      expect(await rb.next()).toEqual([2]);
      // Debian's python-socketio publishes close_room as a pickle: every client here leaves.
      await python(`import socketio; socketio.RedisManager('${redis.url}', write_only=True).close_room('lobby', namespace='/')`);
      await emitTo("lobby", 3);
      await emitTo(a.id!, "end");
      await emitTo(b.id!, "end");
      expect(await ra.next()).toEqual(["end"]);
      expect(await rb.next()).toEqual(["end"]);
      expect([ra.got, rb.got]).toEqual([[[1], ["end"]], [[1], [2], ["end"]]]);
      // Unknown socket ids are no error; an enter_room without a room is one (counted).
      const before = await metric('ws_emit_events_invalid_total{source="redis-socketio"}');
      await session("enter_room", "no-such-sid");
      expect(await redisCli(redis.port, "PUBLISH", "socketio", JSON.stringify({ method: "enter_room", sid: a.id, namespace: "/" }))).toBe("1");
      await srv.waitForLine(/enter_room without a "room"/);
      expect(await metric('ws_emit_events_invalid_total{source="redis-socketio"}')).toBe(before + 1);
      expect(a.connected && b.connected).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });

  test("pickled bytes reach socket.io-client as binary (WebSocket and long-polling) and native clients as base64", { timeout: 20_000 }, async () => {
    const ws = await connectSio(srv.url, { transports: ["websocket"] });
    const polling = await connectSio(srv.url, { transports: ["polling"] });
    try {
      const got = [once(ws, "img"), once(polling, "img")];
      // 300 bytes of every value, so base64 padding and 0x00/0xff are all crossed.
      await python(`import socketio
socketio.RedisManager('${redis.url}', write_only=True).emit('img', ({'name': 'a.png', 'bytes': bytes(range(256)) + bytes(44)}, 'tail'))`);
      const want = [...Array(256).keys(), ...Array(44).fill(0)];
      for (const [arg, tail] of await Promise.all(got)) {
        expect(arg.name).toBe("a.png");
        expect(Buffer.isBuffer(arg.bytes) || arg.bytes instanceof ArrayBuffer).toBe(true);
        expect([...new Uint8Array(arg.bytes)]).toEqual(want);
        expect(tail).toBe("tail");
      }
      const native = await client.next(isEvent("img"));
      expect(native.args[1]).toBe("tail");
      expect([...Buffer.from(native.args[0].bytes, "base64")]).toEqual(want);
    } finally {
      ws.close();
      polling.close();
    }
  });

  test("a malicious pickle on flask-socketio is refused without running, counted, and the server keeps serving", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-emit-evil-"));
    const marker = join(dir, "pwned");
    const invalidBefore = await metric('ws_emit_events_invalid_total{source="redis-socketio"}');
    try {
      await python(`import pickle, os, redis
class Evil:
    def __reduce__(self):
        return (os.system, (${JSON.stringify(`touch ${marker}`)},))
msg = {'method': 'emit', 'event': 'update', 'data': Evil(), 'namespace': '/', 'room': 'time', 'skip_sid': None, 'callback': None, 'host_id': 'x'}
assert redis.Redis.from_url('${redis.url}').publish('flask-socketio', pickle.dumps(msg)) == 1`);
      const line = await srv.waitForLine(/invalid message on flask-socketio/);
      expect(line).toContain("STACK_GLOBAL");
      expect(existsSync(marker)).toBe(false);
      expect(await metric('ws_emit_events_invalid_total{source="redis-socketio"}')).toBe(invalidBefore + 1);
      // Still serving: the next emit arrives.
      await python(`import flask_socketio; flask_socketio.SocketIO(message_queue='${redis.url}').emit('still-here', 1, room='time')`);
      expect(await client.next(isEvent("still-here"))).toEqual({ type: "event", room: "time", event: "still-here", data: 1 });
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("python-socketio >= 5.14 JSON (exact bytes, via redis-cli)", () => {
  // What RedisManager._publish sends from 5.15.1 on: json.dumps of the emit dict, data as a list.
  const json = (data: string, room: string) =>
    python(`import json; print(json.dumps({'method': 'emit', 'event': 'update', 'data': ${data}, 'binary': False, 'namespace': '/', 'room': ${room}, 'skip_sid': None, 'callback': None, 'host_id': '5f0c2b9e8d7a4c1e9b3f6a2d1c0e4b7a'}))`).then((s) => s.trim());

  test("one argument [x] and two arguments [a, b]", async () => {
    const one = await json("[{'time': 3}]", "'time'");
    expect(one).toStartWith('{"method": "emit", "event": "update", "data": [{"time": 3}], "binary": false');
    expect(await redisCli(redis.port, "PUBLISH", "socketio", one)).toBe("1");
    expect(await client.next(isEvent("update"))).toEqual({ type: "event", room: "time", event: "update", data: { time: 3 } });
    await redisCli(redis.port, "PUBLISH", "flask-socketio", await json("['a', 'b']", "['time']"));
    expect(await client.next(isEvent("update"))).toEqual({ type: "event", room: "time", event: "update", args: ["a", "b"] });
  });
});

describe("ws-emit JSON channel and @socket.io/redis-emitter", () => {
  test("redis-cli PUBLISH ws-emit '{…}'", async () => {
    await redisCli(redis.port, "PUBLISH", "ws-emit", '{"event":"update","room":"time","data":{"time":4}}');
    expect(await client.next(isEvent("update"))).toEqual({ type: "event", room: "time", event: "update", data: { time: 4 } });
  });

  test("invalid JSON emit is counted and logged, not fatal", async () => {
    await redisCli(redis.port, "PUBLISH", "ws-emit", '{"room":"time"}');
    expect(await srv.waitForLine(/invalid message on ws-emit: "event" is required/)).toBeTruthy();
    expect(await metric('ws_emit_events_invalid_total{source="redis-json"}')).toBe(1);
  });

  test("a JSON array is a batch, as on POST /emit: delivered in order, or (one bad item) not at all", async () => {
    const before = await metric('ws_emit_events_invalid_total{source="redis-json"}');
    await redisCli(redis.port, "PUBLISH", "ws-emit", '[{"event":"b1","room":"time","data":1},{"event":"b2","room":"time","data":2}]');
    expect(await client.next((m) => isEvent("b1")(m) || isEvent("b2")(m))).toMatchObject({ event: "b1", data: 1 });
    expect(await client.next((m) => isEvent("b1")(m) || isEvent("b2")(m))).toMatchObject({ event: "b2", data: 2 });
    await redisCli(redis.port, "PUBLISH", "ws-emit", '[{"event":"b3","room":"time"},{"room":"time"}]');
    expect(await srv.waitForLine(/invalid message on ws-emit: item 1: "event" is required/)).toBeTruthy();
    await redisCli(redis.port, "PUBLISH", "ws-emit", "[]");
    expect(await srv.waitForLine(/invalid message on ws-emit: a batch must hold 1 to 1000 emits/)).toBeTruthy();
    expect(await metric('ws_emit_events_invalid_total{source="redis-json"}')).toBe(before + 2);
    // Nothing of the refused batch arrived: the next event on the socket is the sentinel.
    expect((await sentinel(client, "after-batches")).event).toBe("after-batches");
    expect(client.received.some(isEvent("b3"))).toBe(false);
  });

  test("new Emitter(ioredis).to('time').emit(...), broadcast, a namespace, except()", { timeout: 20_000 }, async () => {
    const pub = new Redis(redis.url);
    pub.on("error", () => {});
    try {
      const emitter = new Emitter(pub);
      emitter.to("time").emit("update", { time: 5 }, "second");
      expect(await client.next(isEvent("update"))).toEqual({ type: "event", room: "time", event: "update", args: [{ time: 5 }, "second"] });
      emitter.emit("all", 6);
      expect(await client.next(isEvent("all"))).toEqual({ type: "event", event: "all", data: 6 });
      const before = await metric('ws_emit_events_in_total{source="redis-emitter"}');
      emitter.of("/chat").to("time").emit("chat", 7);
      emitter.to("time").emit("after-emitter-chat");
      await client.next(isEvent("after-emitter-chat"));
      expect(client.received.some(isEvent("chat"))).toBe(false);
      expect(await metric('ws_emit_events_in_total{source="redis-emitter"}')).toBe(before + 2);
      // Buffers: binary to Socket.IO clients, base64 to native ones.
      const sio = await connectSio(srv.url);
      try {
        const bin = once(sio, "bin");
        emitter.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.from("hi") });
        const [a, b] = await bin;
        expect([...new Uint8Array(a)]).toEqual([1, 2, 3]);
        expect(Buffer.from(b.nested).toString()).toBe("hi");
        expect((await client.next(isEvent("bin"))).args).toEqual(["AQID", { nested: "aGk=" }]);
      } finally {
        sio.close();
      }
      // except(): the members of those rooms are left out, on every transport.
      const banned = await openWs(`${srv.wsUrl}/ws?room=time`);
      banned.send({ type: "join", room: "banned" });
      expect(await banned.next((m) => m.type === "joined" && m.room === "banned")).toBeTruthy();
      const sioBanned = await connectSio(srv.url);
      try {
        expect(await emitAck(sioBanned, "join", { room: "banned" })).toEqual({ ok: true });
        let leaked = false;
        sioBanned.on("not-for-banned", () => (leaked = true));
        emitter.except("banned").emit("not-for-banned", 1);
        emitter.to("time").except("banned").emit("not-for-banned", 2);
        expect((await client.next(isEvent("not-for-banned"))).data).toBe(1);
        expect((await client.next(isEvent("not-for-banned"))).data).toBe(2);
        // In order on one node: a leak would have come before this sentinel.
        const sioAfter = once(sioBanned, "after-except");
        emitter.emit("after-except");
        await banned.next(isEvent("after-except"));
        await sioAfter;
        expect(banned.received.some(isEvent("not-for-banned"))).toBe(false);
        expect(leaked).toBe(false);
      } finally {
        banned.close();
        sioBanned.close();
      }
    } finally {
      pub.disconnect();
    }
  });
});

describe("Redis down at start", () => {
  test("ws-emit starts, reconnects, subscribes when Redis comes up, then delivers", async () => {
    const port = await freePort();
    const late = await startWsEmit(["--redis", `redis://127.0.0.1:${port}`]);
    let r2: RedisServer | undefined;
    try {
      await late.waitForLine(/\[redis-ingest\] reconnecting/);
      const c = await openWs(`${late.wsUrl}/ws?room=time`);
      expect(await c.next()).toEqual({ type: "joined", room: "time" });
      r2 = await startRedis([], port);
      await late.waitForLine(/subscribed to /, 15_000);
      await redisCli(port, "PUBLISH", "ws-emit", '{"event":"back","room":"time"}');
      expect(await c.next(isEvent("back"))).toEqual({ type: "event", room: "time", event: "back" });
      c.close();
    } finally {
      await late.stop();
      await r2?.[Symbol.asyncDispose]();
    }
  });
});
