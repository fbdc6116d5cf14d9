/**
 * The hub with stand-ins for Bun's WebSockets and publish: which frames reach whom, in
 * particular a multi-room emit reaching a subscriber of a `once` format (Socket.IO, SSE) once.
 */
import { describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { createHub, textOf, type Format, type Sink } from "../../src/core/hub.ts";
import type { EmitMessage } from "../../src/core/message.ts";

/** A fake ServerWebSocket: subscriptions and the frames sent to it (directly or by publish). */
function fakeWs(name: string) {
  const topics = new Set<string>();
  const got: string[] = [];
  const ws = {
    name,
    topics,
    got,
    subscribe: (t: string) => (topics.add(t), true),
    unsubscribe: (t: string) => topics.delete(t),
    isSubscribed: (t: string) => topics.has(t),
    send: (f: string) => (got.push(f), f.length),
  };
  return ws;
}
type FakeWs = ReturnType<typeof fakeWs>;
const asWs = (w: FakeWs) => w as unknown as ServerWebSocket<unknown>;

function fakeSink(): Sink & { got: string[] } {
  const got: string[] = [];
  return { got, send: (f) => void got.push(textOf(f)) };
}

/** A hub over fake sockets, with the formats of the real server's shape. */
function setup() {
  const sockets: FakeWs[] = [];
  const publishes: string[] = [];
  const publisher = {
    publish(topic: string, frame: string) {
      publishes.push(topic);
      let n = 0;
      for (const w of sockets) if (w.topics.has(topic)) (w.got.push(frame), n++);
      return n;
    },
  };
  // wsTopics as the server gives it: every socket with the topics it holds.
  const hub = createHub(() => publisher as never, undefined, { wsTopics: () => sockets.map((w) => [asWs(w), [...w.topics]] as const) });
  const native: Format = { id: "n", encode: (m, room) => JSON.stringify({ room, event: m.event }) };
  const sio: Format = { id: "sio", once: true, encode: (m) => `42${JSON.stringify([m.event, ...m.args])}` };
  const sse: Format = { id: "sse", once: true, encode: (m, room) => `event: ${m.event}\ndata: ${room}\n\n` };
  for (const f of [native, sio, sse]) hub.addFormat(f);
  const ws = (name: string, format: string, rooms: string[]) => {
    const w = fakeWs(name);
    sockets.push(w);
    for (const r of rooms) hub.subscribe({ ws: asWs(w) }, format, "/", r);
    return w;
  };
  const sink = (format: string, rooms: string[]) => {
    const s = fakeSink();
    for (const r of rooms) hub.subscribe({ sink: s }, format, "/", r);
    return s;
  };
  return { hub, ws, sink, publishes };
}

const emit = (rooms: string[] | null, extra: Partial<EmitMessage> = {}): EmitMessage => ({ event: "e", args: [1], namespace: "/", rooms, ...extra });

describe("hub: multi-room emits", () => {
  test("a Socket.IO socket in two rooms of the emit gets it once; one in either room once", () => {
    const { hub, ws } = setup();
    const both = ws("both", "sio", ["a", "b"]);
    const onlyA = ws("a", "sio", ["a"]);
    const onlyB = ws("b", "sio", ["b"]);
    const neither = ws("c", "sio", ["c"]);
    expect(hub.deliver(emit(["a", "b"]))).toBe(3);
    expect([both.got, onlyA.got, onlyB.got, neither.got].map((g) => g.length)).toEqual([1, 1, 1, 0]);
    expect(both.got[0]).toBe('42["e",1]');
    // The other order, and a room list with a room nobody here is in.
    expect(hub.deliver(emit(["x", "b", "a"]))).toBe(3);
    expect([both.got, onlyA.got, onlyB.got].map((g) => g.length)).toEqual([2, 2, 2]);
  });

  test("direct rooms (a Socket.IO client's own room): no topic, reached once with the rooms it is in", () => {
    const { hub, ws, sink, publishes } = setup();
    const a = ws("a", "sio", ["x"]);
    const b = ws("b", "sio", ["x"]);
    const polling = sink("sio", ["x"]);
    const own = new Map<string, object>([["sid-a", { ws: a }], ["sid-p", { sink: polling }]]);
    hub.directRooms("sio", (ns, room) => (ns === "/" ? (own.get(room) as never) : undefined));
    // Alone: sent to it directly, nothing published.
    expect(hub.deliver(emit(["sid-a"]))).toBe(1);
    expect([a.got.length, b.got.length, publishes.length]).toEqual([1, 0, 0]);
    // With a room it is in, in either order; and with another client's own room.
    for (const rooms of [["sid-a", "x"], ["x", "sid-a"], ["sid-p", "x", "sid-a"]]) {
      const before = [a.got.length, b.got.length, polling.got.length];
      expect(hub.deliver(emit(rooms))).toBe(3);
      expect([a.got.length, b.got.length, polling.got.length]).toEqual(before.map((n) => n + 1));
    }
    // skipRooms leaves out the direct one too; another namespace's own rooms are not ours.
    expect(hub.deliver(emit(["x"], { skipRooms: ["sid-a"] }))).toBe(2);
    expect(hub.deliver(emit(["sid-a"], { namespace: "/other" }))).toBe(0);
    expect(hub.rooms().get("sid-a")).toBeUndefined();
  });

  test("except rooms: their members are left out on every format, whatever other rooms they are in", () => {
    const { hub, ws, sink } = setup();
    const banned = ws("banned", "sio", ["a", "banned"]);
    const fine = ws("fine", "sio", ["a", "b"]);
    const nBanned = ws("nb", "n", ["a", "banned"]);
    const nFine = ws("nf", "n", ["a", "b"]);
    const sseBanned = sink("sse", ["a", "banned"]);
    const sseFine = sink("sse", ["a"]);
    // Two rooms: once per Socket.IO/SSE subscriber, one frame per room for native.
    expect(hub.deliver(emit(["a", "b"], { except: ["banned"] }))).toBe(4);
    expect([banned.got.length, fine.got.length, nBanned.got.length, nFine.got.length, sseBanned.got.length, sseFine.got.length]).toEqual([0, 1, 0, 2, 0, 1]);
    // A broadcast with except: everyone subscribed to the namespace broadcast but the banned.
    const all = ws("all", "sio", [null as unknown as string]);
    const allBanned = ws("allb", "sio", [null as unknown as string, "banned"]);
    expect(hub.deliver(emit(null, { except: ["banned"] }))).toBe(1);
    expect([all.got.length, allBanned.got.length]).toEqual([1, 0]);
    // An except room nobody is in leaves nobody out.
    expect(hub.deliver(emit(["b"], { except: ["nobody"] }))).toBe(2);
  });

  test("SSE streams (sinks) in several rooms get it once", () => {
    const { hub, sink } = setup();
    const s1 = sink("sse", ["a", "b", "c"]);
    const s2 = sink("sse", ["c"]);
    expect(hub.deliver(emit(["a", "b", "c"]))).toBe(2);
    expect(s1.got).toEqual(["event: e\ndata: a\n\n"]);
    expect(s2.got).toEqual(["event: e\ndata: c\n\n"]);
  });

  test("native frames name their room: one frame per room, as documented", () => {
    const { hub, ws } = setup();
    const both = ws("both", "n", ["a", "b"]);
    expect(hub.deliver(emit(["a", "b"]))).toBe(2);
    expect(both.got.map((f) => JSON.parse(f).room)).toEqual(["a", "b"]);
  });

  test("the first room with subscribers is published in bulk; the rest go one by one", () => {
    const { hub, ws, publishes } = setup();
    const both = ws("both", "sio", ["a", "b"]);
    ws("b", "sio", ["b"]);
    hub.deliver(emit(["x", "a", "b"]));
    expect(publishes).toEqual(["sio|/|a"]);
    expect(both.got.length).toBe(1);
  });

  test("single-room emits are published per format, nothing sent one by one", () => {
    const { hub, ws, publishes } = setup();
    const s = ws("s", "sio", ["a"]);
    const n = ws("n", "n", ["a"]);
    expect(hub.deliver(emit(["a"]))).toBe(2);
    expect(publishes).toEqual(["n|/|a", "sio|/|a"]);
    expect([s.got.length, n.got.length]).toEqual([1, 1]);
  });

  test("skipRooms (a part of a split emit): members of those rooms are left out, the rest get it once", () => {
    const { hub, ws, sink, publishes } = setup();
    const inSkip = ws("skip", "sio", ["a", "b"]);
    const inB = ws("b", "sio", ["b", "c"]);
    const sseSkip = sink("sse", ["a", "c"]);
    const sseC = sink("sse", ["c"]);
    expect(hub.deliver(emit(["b", "c"], { skipRooms: ["a"] }))).toBe(2);
    expect(publishes).toEqual([]); // room b holds a member of a: no bulk publish
    expect([inSkip.got.length, inB.got.length, sseSkip.got.length, sseC.got.length]).toEqual([0, 1, 0, 1]);
    // A single-room part with skipRooms takes the same path.
    expect(hub.deliver(emit(["c"], { skipRooms: ["a"] }))).toBe(2);
    expect([inSkip.got.length, inB.got.length, sseSkip.got.length, sseC.got.length]).toEqual([0, 2, 0, 2]);
    // Skip rooms nobody here is in: the bulk path again.
    hub.deliver(emit(["b", "c"], { skipRooms: ["zzz"] }));
    expect(publishes).toEqual(["sio|/|b"]);
  });

  test("leaving a room updates who is in it (no stale membership)", () => {
    const { hub, ws } = setup();
    const w = ws("w", "sio", ["a", "b"]);
    hub.unsubscribe({ ws: asWs(w) }, "sio|/|a");
    w.topics.delete("sio|/|a");
    const other = ws("o", "sio", ["a"]);
    expect(hub.deliver(emit(["a", "b"]))).toBe(2);
    expect([w.got.length, other.got.length]).toEqual([1, 1]);
    hub.unsubscribe({ ws: asWs(w) }, "sio|/|b");
    w.topics.delete("sio|/|b");
    expect(hub.deliver(emit(["a", "b"]))).toBe(1);
    expect(w.got.length).toBe(1);
  });

  test("broadcasts and other namespaces are untouched", () => {
    const { hub, ws } = setup();
    const w = fakeWs("w");
    hub.subscribe({ ws: asWs(w) }, "sio", "/chat", "a");
    const root = ws("root", "sio", ["a", "b"]);
    expect(hub.deliver(emit(["a", "b"], { namespace: "/chat" }))).toBe(1);
    expect(root.got.length).toBe(0);
    hub.subscribe({ ws: asWs(root) }, "sio", "/", null);
    expect(hub.deliver(emit(null))).toBe(1);
  });
});

describe("hub: room counts", () => {
  test("rooms() counts subscriptions of every format", () => {
    const { hub, ws, sink } = setup();
    ws("a", "sio", ["a", "b"]);
    ws("n", "n", ["a"]);
    sink("sse", ["b"]);
    expect(Object.fromEntries(hub.rooms())).toEqual({ a: 2, b: 2 });
  });
});
