import { describe, expect, test } from "bun:test";
import type { EmitMessage } from "../../src/core/message.ts";
import { createSseFormat } from "../../src/protocols/sse/codec.ts";
import { createSseHistory } from "../../src/protocols/sse/history.ts";

const m = (event: string, rooms: string[] | null, extra: Partial<EmitMessage> = {}): EmitMessage => ({ event, args: [event], namespace: "/", rooms, ...extra });

describe("SSE history (Last-Event-ID resume)", () => {
  test("ids, and what a stream missed: its rooms and broadcasts, oldest first, once per message", () => {
    const h = createSseHistory(10, "abc");
    const msgs = [m("a", ["r1"]), m("b", null), m("c", ["other"]), m("d", ["r1", "r2"]), m("e", ["r2"])];
    for (const x of msgs) h.record(x);
    expect(msgs.map((x) => h.idOf(x))).toEqual(["abc-1", "abc-2", "abc-3", "abc-4", "abc-5"]);
    const names = (r: ReturnType<typeof h.since>) => r?.map((x) => `${x.msg.event}@${x.room}`);
    expect(names(h.since("abc-1", new Set(["r1", "r2"])))).toEqual(["b@null", "d@r1", "e@r2"]);
    expect(names(h.since("abc-0", new Set(["r1"])))).toEqual(["a@r1", "b@null", "d@r1"]);
    expect(names(h.since("abc-0", new Set(["r2"])))).toEqual(["b@null", "d@r2", "e@r2"]);
    expect(names(h.since("abc-5", new Set(["r1"])))).toEqual([]);
  });

  test("parts of a multi-room emit split over cluster shards replay once: skipRooms are another part's", () => {
    const h = createSseHistory(10, "abc");
    // One emit to [a, b, c] arrived as two parts: [a, c] and [b] (which skips a and c).
    const parts = [m("x", ["a", "c"]), m("x", ["b"], { skipRooms: ["a", "c"] })];
    for (const p of parts) h.record(p);
    const names = (r: ReturnType<typeof h.since>) => r?.map((x) => `${x.msg.event}@${x.room}`);
    expect(names(h.since("abc-0", new Set(["a", "b", "c"])))).toEqual(["x@a"]);
    expect(names(h.since("abc-0", new Set(["b", "c"])))).toEqual(["x@c"]);
    expect(names(h.since("abc-0", new Set(["b"])))).toEqual(["x@b"]);
  });

  test("an emit with except rooms is not replayed to a stream in one of them (it was left out live)", () => {
    const h = createSseHistory(10, "abc");
    h.record(m("x", ["a"], { except: ["b"] }));
    h.record(m("y", null, { except: ["b"] }));
    const names = (r: ReturnType<typeof h.since>) => r?.map((x) => x.msg.event);
    expect(names(h.since("abc-0", new Set(["a", "b"])))).toEqual([]);
    expect(names(h.since("abc-0", new Set(["a"])))).toEqual(["x", "y"]);
  });

  test("ids of another process, from the future or malformed replay nothing", () => {
    const h = createSseHistory(10, "abc");
    h.record(m("a", null));
    for (const id of ["def-1", "abc-9", "abc", "", "abc-1x", "abc--1"]) expect([id, h.since(id, new Set())]).toEqual([id, null]);
  });

  test("a full ring keeps the newest N; other namespaces and non-SSE-only messages are not kept", () => {
    const h = createSseHistory(3, "abc");
    for (let i = 1; i <= 7; i++) h.record(m(`e${i}`, null));
    expect(h.since("abc-1", new Set())!.map((x) => x.msg.event)).toEqual(["e5", "e6", "e7"]);
    const ns = m("x", null, { namespace: "/chat" });
    const raw = m("y", null, { only: ["wsify", "webdis"] });
    h.record(ns);
    h.record(raw);
    expect([h.idOf(ns), h.idOf(raw)]).toEqual([undefined, undefined]);
    const off = createSseHistory(0, "abc");
    const z = m("z", null);
    off.record(z);
    expect(off.idOf(z)).toBeUndefined();
  });

  test("the format writes the id line first", () => {
    const h = createSseHistory(5, "abc");
    const x = m("update", ["time"]);
    h.record(x);
    expect(createSseFormat(h.idOf).encode(x, "time")).toBe('id: abc-1\nevent: update\ndata: "update"\n\n');
    expect(createSseFormat().encode(x, "time")).toBe('event: update\ndata: "update"\n\n');
  });
});
