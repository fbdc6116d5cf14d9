/**
 * python-socketio / Flask-SocketIO queue messages and @socket.io/redis-emitter messages,
 * built by the real encoders: /usr/bin/python3's pickle and json, and notepack.io (the
 * emitter's own msgpack encoder).
 */
import { describe, expect, test } from "bun:test";
import { encode } from "notepack.io";
import { parseEmitterMessage } from "../../src/ingest/emitter.ts";
import { parseSocketioQueueMessage } from "../../src/ingest/socketio-queue.ts";

function python(code: string): string[] {
  const r = Bun.spawnSync(["/usr/bin/python3", "-c", code], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`python failed: ${r.stderr.toString()}`);
  return r.stdout.toString().trim().split("\n");
}
const hex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
const text = (s: string) => new TextEncoder().encode(s);

/** The dict python-socketio's PubSubManager.emit publishes (host_id is a uuid4 hex). */
const msgPy = (data: string, room = "None", ns = "'/'", extra = "") =>
  `{'method': 'emit', 'event': 'update', 'data': ${data}, 'namespace': ${ns}, 'room': ${room}, 'skip_sid': None, 'callback': None, 'host_id': 'ab12'${extra}}`;

describe("python-socketio queue: pickle (python-socketio < 5.14, Flask-SocketIO)", () => {
  const cases: Array<[string, string, string, unknown[], string[] | null, string]> = [
    ["dict to a room", msgPy("{'time': 1}", "'time'"), "", [{ time: 1 }], ["time"], "/"],
    ["tuple = several arguments", msgPy("('a', 2)"), "", ["a", 2], null, "/"],
    ["a list stays one argument", msgPy("[1, 2]"), "", [[1, 2]], null, "/"],
    ["None = no argument", msgPy("None"), "", [], null, "/"],
    ["rooms list, namespace", msgPy("'x'", "['a', 'b']", "'/chat'"), "", ["x"], ["a", "b"], "/chat"],
    ["rooms tuple", msgPy("'x'", "('a', 'b')"), "", ["x"], ["a", "b"], "/"],
    ["namespace None = /", msgPy("1", "None", "None"), "", [1], null, "/"],
  ];
  for (const [name, dict, , args, rooms, ns] of cases) {
    test(name, () => {
      for (const h of python(`import pickle\nfor p in (2, 3, 4, 5): print(pickle.dumps(${dict}, protocol=p).hex())`)) {
        const r = parseSocketioQueueMessage(hex(h));
        expect(r).toEqual({ ok: true, kind: "emit", format: "pickle", value: { event: "update", args, rooms, namespace: ns } });
      }
    });
  }

  test("session methods come back for the caller to apply; callback is ignored; incomplete ones are errors", () => {
    const [disc, close, enter, leave, cb, noSid, noRoom, badRoom] = python(`import pickle
print(pickle.dumps({'method': 'disconnect', 'sid': 'x', 'namespace': '/'}, protocol=4).hex())
print(pickle.dumps({'method': 'close_room', 'room': 'r', 'namespace': None}, protocol=4).hex())
print(pickle.dumps({'method': 'enter_room', 'sid': 'x', 'room': 'r', 'namespace': '/chat'}, protocol=4).hex())
print(pickle.dumps({'method': 'leave_room', 'sid': 'x', 'room': 'r', 'namespace': '/'}, protocol=4).hex())
print(pickle.dumps({'method': 'callback', 'sid': 'x', 'namespace': '/', 'id': 1, 'args': []}, protocol=4).hex())
print(pickle.dumps({'method': 'enter_room', 'room': 'r', 'namespace': '/'}, protocol=4).hex())
print(pickle.dumps({'method': 'close_room', 'namespace': '/'}, protocol=4).hex())
print(pickle.dumps({'method': 'enter_room', 'sid': 'x', 'room': 'a b', 'namespace': '/'}, protocol=4).hex())`);
    expect(parseSocketioQueueMessage(hex(disc!))).toEqual({ ok: true, kind: "session", method: "disconnect", sid: "x", namespace: "/", room: undefined });
    expect(parseSocketioQueueMessage(hex(close!))).toEqual({ ok: true, kind: "session", method: "close_room", namespace: "/", room: "r" });
    expect(parseSocketioQueueMessage(hex(enter!))).toEqual({ ok: true, kind: "session", method: "enter_room", sid: "x", namespace: "/chat", room: "r" });
    expect(parseSocketioQueueMessage(hex(leave!))).toEqual({ ok: true, kind: "session", method: "leave_room", sid: "x", namespace: "/", room: "r" });
    expect(parseSocketioQueueMessage(hex(cb!))).toMatchObject({ ok: true, kind: "ignored", method: "callback" });
    expect(parseSocketioQueueMessage(hex(noSid!))).toEqual({ ok: false, error: 'enter_room without a "sid"' });
    expect(parseSocketioQueueMessage(hex(noRoom!))).toEqual({ ok: false, error: 'close_room without a "room"' });
    expect(parseSocketioQueueMessage(hex(badRoom!))).toMatchObject({ ok: false, error: expect.stringContaining("enter_room: room contains whitespace") });
  });

  test("pickled bytes are carried: base64 in args, Socket.IO placeholders plus the bytes in binary", () => {
    const [one, nested, tuple] = python(`import pickle
print(pickle.dumps(${msgPy("b'xy'")}, protocol=4).hex())
print(pickle.dumps(${msgPy("{'img': b'\\x00\\xff', 'list': [1, b'ab'], 'n': 2}")}, protocol=4).hex())
print(pickle.dumps(${msgPy("('t', b'z')")}, protocol=4).hex())`);
    expect(parseSocketioQueueMessage(hex(one!))).toMatchObject({
      ok: true,
      value: { args: ["eHk="], binary: { args: [{ _placeholder: true, num: 0 }], buffers: [new Uint8Array([0x78, 0x79])] } },
    });
    expect(parseSocketioQueueMessage(hex(nested!))).toMatchObject({
      ok: true,
      value: {
        args: [{ img: "AP8=", list: [1, "YWI="], n: 2 }],
        binary: { args: [{ img: { _placeholder: true, num: 0 }, list: [1, { _placeholder: true, num: 1 }], n: 2 }], buffers: [new Uint8Array([0, 255]), new Uint8Array([97, 98])] },
      },
    });
    expect(parseSocketioQueueMessage(hex(tuple!))).toMatchObject({ ok: true, value: { args: ["t", "eg=="], binary: { args: ["t", { _placeholder: true, num: 0 }] } } });
  });

  test("unknown methods, bad rooms and events are errors", () => {
    const [unknown, badRoom, reserved, noEvent] = python(`import pickle
print(pickle.dumps({'method': 'frobnicate'}, protocol=4).hex())
print(pickle.dumps(${msgPy("1", "'a b'")}, protocol=4).hex())
print(pickle.dumps(${msgPy("1").replace("'update'", "'connect'")}, protocol=4).hex())
print(pickle.dumps({'method': 'emit', 'data': 1}, protocol=4).hex())`);
    expect(parseSocketioQueueMessage(hex(unknown!))).toEqual({ ok: false, error: 'unknown method "frobnicate"' });
    expect(parseSocketioQueueMessage(hex(badRoom!))).toEqual({ ok: false, error: expect.stringContaining("room") });
    expect(parseSocketioQueueMessage(hex(reserved!))).toEqual({ ok: false, error: expect.stringContaining("reserved") });
    expect(parseSocketioQueueMessage(hex(noEvent!))).toEqual({ ok: false, error: expect.stringContaining("event") });
  });

  test("a malicious pickle is an error naming the opcode", () => {
    const [h] = python(`import pickle, os
class E:
    def __reduce__(self): return (os.system, ('true',))
print(pickle.dumps(${msgPy("E()")}, protocol=4).hex())`);
    expect(parseSocketioQueueMessage(hex(h!))).toEqual({ ok: false, error: expect.stringContaining("STACK_GLOBAL") });
  });
});

describe("python-socketio queue: JSON (python-socketio >= 5.14)", () => {
  // json.dumps of the dict, exactly as RedisManager._publish does it.
  const json = (dict: string) => text(python(`import json; print(json.dumps(${dict}))`)[0]!);

  test(">= 5.15.1: data is the argument list", () => {
    const one = parseSocketioQueueMessage(json(msgPy("[{'time': 1}]", "'time'", "'/'", ", 'binary': False")));
    expect(one).toEqual({ ok: true, kind: "emit", format: "json", value: { event: "update", args: [{ time: 1 }], rooms: ["time"], namespace: "/" } });
    const two = parseSocketioQueueMessage(json(msgPy("['a', 2]", "None", "'/'", ", 'binary': False")));
    expect(two).toMatchObject({ ok: true, value: { args: ["a", 2], rooms: null } });
    const none = parseSocketioQueueMessage(json(msgPy("[None]", "None", "'/'", ", 'binary': False")));
    expect(none).toMatchObject({ ok: true, value: { args: [] } });
  });

  test("5.14.0 to 5.15.0: data is the single argument", () => {
    const r = parseSocketioQueueMessage(json(msgPy("{'time': 1}", "'time'")));
    expect(r).toMatchObject({ ok: true, value: { args: [{ time: 1 }] } });
    expect(parseSocketioQueueMessage(json(msgPy("'hi'")))).toMatchObject({ ok: true, value: { args: ["hi"] } });
  });

  test("binary attachments, bad JSON and non-dicts are errors", () => {
    expect(parseSocketioQueueMessage(json(msgPy("[{'_placeholder': True, 'num': 0}, 'eHk=']", "None", "'/'", ", 'binary': True")))).toEqual({
      ok: false,
      error: expect.stringContaining("binary"),
    });
    expect(parseSocketioQueueMessage(text("{nope"))).toEqual({ ok: false, error: expect.stringContaining("neither") });
    expect(parseSocketioQueueMessage(text("[1]"))).toEqual({ ok: false, error: expect.stringContaining("not a dict") });
    expect(parseSocketioQueueMessage(text('{"method":"emit","event":"x"}'), { maxBytes: 10 })).toEqual({ ok: false, error: expect.stringContaining("limit") });
  });
});

describe("@socket.io/redis-emitter messages (notepack.io msgpack)", () => {
  const msg = (packet: unknown, opts: unknown) => new Uint8Array(encode(["emitter", packet, opts]));

  test("room, broadcast, namespace, several arguments", () => {
    expect(parseEmitterMessage(msg({ type: 2, data: ["update", { time: 1 }], nsp: "/" }, { rooms: ["time"], except: [], flags: {} }))).toEqual({
      ok: true,
      kind: "emit",
      value: { event: "update", args: [{ time: 1 }], rooms: ["time"], namespace: "/" },
    });
    expect(parseEmitterMessage(msg({ type: 2, data: ["a", 1, "two"], nsp: "/chat" }, { rooms: [], except: [], flags: { volatile: true } }))).toEqual({
      ok: true,
      kind: "emit",
      value: { event: "a", args: [1, "two"], rooms: null, namespace: "/chat" },
    });
  });

  test("Buffers are carried as binary", () => {
    expect(parseEmitterMessage(msg({ type: 5, data: ["a", Buffer.from("xy"), { b: Buffer.from([1]) }], nsp: "/" }, { rooms: [], except: [] }))).toMatchObject({
      ok: true,
      value: { args: ["eHk=", { b: "AQ==" }], binary: { args: [{ _placeholder: true, num: 0 }, { b: { _placeholder: true, num: 1 } }] } },
    });
  });

  test("except rooms are carried; garbage and non-events", () => {
    expect(parseEmitterMessage(msg({ type: 2, data: ["a"], nsp: "/" }, { rooms: [], except: ["r", "s"], flags: {} }))).toEqual({
      ok: true,
      kind: "emit",
      value: { event: "a", args: [], rooms: null, namespace: "/", except: ["r", "s"] },
    });
    expect(parseEmitterMessage(msg({ type: 2, data: ["a"], nsp: "/" }, { rooms: [], except: "r" }))).toEqual({ ok: false, error: "except must be an array" });
    expect(parseEmitterMessage(msg({ type: 0, nsp: "/" }, {}))).toMatchObject({ ok: true, kind: "ignored" });
    expect(parseEmitterMessage(text("not msgpack at all")).ok).toBe(false);
    expect(parseEmitterMessage(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])).ok).toBe(false);
    expect(parseEmitterMessage(msg({ type: 2, data: [], nsp: "/" }, {}))).toEqual({ ok: false, error: expect.stringContaining("[event") });
  });

  test("random bytes never throw", () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0), seed % n);
    const base = msg({ type: 2, data: ["update", { a: [1, 2, { b: "c" }] }], nsp: "/" }, { rooms: ["x"], except: [], flags: {} });
    for (let i = 0; i < 5000; i++) {
      const b = base.slice();
      for (let e = 0; e < 1 + rand(3); e++) b[rand(b.length)] = rand(256);
      const r = parseEmitterMessage(b.subarray(0, rand(b.length + 1)));
      expect(typeof r.ok).toBe("boolean");
    }
  });
});
