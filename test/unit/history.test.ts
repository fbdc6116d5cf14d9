import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { formatPosition, formatPositionList, MAX_POSITION_LENGTH, newEpoch, parsePosition, parsePositionList } from "../../src/core/history-id.ts";
import { decideRead } from "../../src/engine/history.ts";
import { createMemoryHistory } from "../../src/engine/history-memory.ts";
import { createMemoryIdempotency, parseIdempotencyKey } from "../../src/engine/idempotency.ts";
import { decodeFanout, encodeEmit } from "../../src/engine/fanout-codec.ts";
import { nativeFormat } from "../../src/protocols/native/codec.ts";
import { coveredBy, nativeFrameId } from "../../src/protocols/resume-seam.ts";
import { createSseFormat, splitMarked } from "../../src/protocols/sse/codec.ts";
import type { EmitMessage } from "../../src/core/message.ts";

const msg = (data: unknown, rooms: string[] | null = ["r"]): EmitMessage => ({ event: "e", args: [data], namespace: "/", rooms });

describe("positions (client text: strict and bounded)", () => {
  test("round trip", () => {
    const e = newEpoch();
    expect(e).toMatch(/^[0-9a-z]{10}$/);
    expect(newEpoch()).not.toBe(e);
    expect(parsePosition(formatPosition({ epoch: e, offset: 42 }))).toEqual({ ok: true, value: { epoch: e, offset: 42 } });
  });
  test("refuses anything else", () => {
    for (const bad of ["", "a", "a-", "-1", "A-1", "a-01", "a--1", "a-1.5", "a-1 ", " a-1", "a-1\n", "a-9999999999999999", "abcdefghijklmnopq-1", "a-1-2", 5, null, {}, ["a-1"]])
      expect(parsePosition(bad).ok).toBe(false);
    expect(parsePosition("x".repeat(10_000)).ok).toBe(false);
  });
  test("never throws, accepts only what it could have written", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const p = parsePosition(s);
        if (p.ok) expect(formatPosition(p.value)).toBe(s);
        expect(s.length <= MAX_POSITION_LENGTH || !p.ok).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });
  test("SSE lists: one entry per room, empty for unknown", () => {
    const list = [{ epoch: "ab", offset: 3 }, null, { epoch: "cd", offset: 0 }];
    const text = formatPositionList(list);
    expect(text).toBe("ab-3,,cd-0");
    expect(parsePositionList(text, 3)).toEqual({ ok: true, value: list });
    expect(parsePositionList(text, 2).ok).toBe(false); // more entries than rooms
    expect(parsePositionList(text, 4)).toEqual({ ok: true, value: list }); // a room added at the end: as long as the id
    expect(parsePositionList("3f2a9c1b-17", 1).ok).toBe(true); // an old SSE id parses, and its epoch is unknown
    expect(parsePositionList("ab-3,".repeat(10_000), 2).ok).toBe(false);
    fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 5 }), (s, n) => void parsePositionList(s, n)), { numRuns: 10_000 });
  });
});

describe("decideRead: when is a gap provably closed", () => {
  const top = { epoch: "e", offset: 10 };
  const events = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ offset: from + i, msg: msg(from + i) }));
  test("cases", () => {
    expect(decideRead(top, null, 5, () => null).events).toEqual([]);
    expect(decideRead(top, { epoch: "e", offset: 10 }, 5, () => null).events).toEqual([]);
    expect(decideRead(top, { epoch: "e", offset: 7 }, 5, events)!.events!.map((e) => e.offset)).toEqual([8, 9, 10]);
    expect(decideRead(top, { epoch: "x", offset: 7 }, 5, events).events).toBeNull(); // other epoch
    expect(decideRead(top, { epoch: "e", offset: 11 }, 5, events).events).toBeNull(); // from the future
    expect(decideRead(top, { epoch: "e", offset: 4 }, 5, events).events).toBeNull(); // more than the size behind
    expect(decideRead(top, { epoch: "e", offset: 7 }, 5, () => null).events).toBeNull(); // trimmed
    expect(decideRead(top, { epoch: "e", offset: 7 }, 5, (f, c) => events(f + 1, c - 1)).events).toBeNull(); // hole at the start
  });
});

describe("memory history", () => {
  test("offsets per room, replay, size and TTL", async () => {
    let t = 1000;
    const h = createMemoryHistory({ size: 3, ttlMs: 100 }, () => t);
    const empty = await h.read("/", "r", null);
    expect(empty.top.offset).toBe(0);
    const p1 = await h.append(msg(1, ["r", "s"]));
    const p2 = await h.append(msg(2, ["r"]));
    expect(p1.get("r")).toEqual({ epoch: empty.top.epoch, offset: 1 });
    expect(p1.get("s")!.offset).toBe(1);
    expect(p2.get("r")!.offset).toBe(2);
    const r = await h.read("/", "r", { epoch: empty.top.epoch, offset: 0 });
    expect(r.events!.map((e) => e.msg.args[0])).toEqual([1, 2]);
    for (let i = 3; i <= 5; i++) await h.append(msg(i, ["r"]));
    expect((await h.read("/", "r", { epoch: empty.top.epoch, offset: 1 })).events).toBeNull(); // 4 behind, size 3
    expect((await h.read("/", "r", { epoch: empty.top.epoch, offset: 2 })).events!.map((e) => e.offset)).toEqual([3, 4, 5]);
    t += 101;
    expect((await h.read("/", "r", { epoch: empty.top.epoch, offset: 4 })).events).toBeNull(); // expired
    expect((await h.read("/", "r", { epoch: empty.top.epoch, offset: 5 })).events).toEqual([]); // at the top: nothing missed
    expect((await h.read("/", "r", { epoch: "zzz", offset: 5 })).events).toBeNull();
    await h.append(msg(6, null)); // broadcasts are not kept
    expect((await h.read("/", "r", null)).top.offset).toBe(5);
    await h.close();
  });
  test("a new process is a new epoch", async () => {
    const a = createMemoryHistory({ size: 3, ttlMs: 1000 });
    const b = createMemoryHistory({ size: 3, ttlMs: 1000 });
    expect((await a.read("/", "r", null)).top.epoch).not.toBe((await b.read("/", "r", null)).top.epoch);
    await a.close();
    await b.close();
  });
});

describe("idempotency", () => {
  test("a key is taken once per window", async () => {
    let t = 0;
    const s = createMemoryIdempotency(1000, () => t);
    expect(await s.claim("k")).toBe(true);
    expect(await s.claim("k")).toBe(false);
    t = 1000;
    expect(await s.claim("k")).toBe(true);
    await s.release("k");
    expect(await s.claim("k")).toBe(true);
    s.close();
    expect(parseIdempotencyKey("x".repeat(201)).ok).toBe(false);
    expect(parseIdempotencyKey(5).ok).toBe(false);
    expect(parseIdempotencyKey(undefined)).toEqual({ ok: true, value: undefined });
  });
});

describe("positions on the wire", () => {
  const m: EmitMessage = { ...msg({ id: "x-1" }, ["a", "b"]), positions: new Map([["a", { epoch: "ep", offset: 7 }], ["b", { epoch: "eq", offset: 2 }]]) };
  test("native frames carry their room's id, last", () => {
    const f = nativeFormat.encode(m, "b");
    expect(JSON.parse(f)).toEqual({ type: "event", room: "b", event: "e", data: { id: "x-1" }, id: "eq-2" });
    expect(nativeFrameId(f)).toBe("eq-2");
    expect(nativeFrameId(nativeFormat.encode({ ...m, positions: undefined }, "b"))).toBeNull(); // data's own "id" is not ours
    expect(coveredBy("eq-2", { epoch: "eq", offset: 2 })).toBe(true);
    expect(coveredBy("eq-3", { epoch: "eq", offset: 2 })).toBe(false);
    expect(coveredBy("ex-1", { epoch: "eq", offset: 2 })).toBe(false);
  });
  test("SSE frames carry a private header the stream replaces", () => {
    const f = createSseFormat().encode(m, "a");
    expect(splitMarked(f)).toEqual({ position: "ep-7", room: "a", text: 'event: e\ndata: {"id":"x-1"}\n\n' });
    expect(createSseFormat().encode(msg(1), "r")).toBe("event: e\ndata: 1\n\n");
  });
  test("the fan-out carries positions (and a split part keeps its rooms')", () => {
    const d = decodeFanout(encodeEmit("n1", m));
    expect(d.ok && d.value.kind === "emit" && [...d.value.msg.positions!]).toEqual([...m.positions!]);
    const part = decodeFanout(encodeEmit("n1", { ...m, rooms: ["b"] }));
    expect(part.ok && part.value.kind === "emit" && [...part.value.msg.positions!]).toEqual([["b", { epoch: "eq", offset: 2 }]]);
    expect(decodeFanout(JSON.stringify(["e", "n", "e", "/", ["a"], [], null, null, null, { pos: ["bad id"] }])).ok).toBe(false);
    expect(decodeFanout(JSON.stringify(["e", "n", "e", "/", ["a"], [], null, null, null, { pos: ["a-1", "b-2"] }])).ok).toBe(false);
  });
});

describe("the seam between replay and live (hub with sinks, no server)", () => {
  const { createHub } = require("../../src/core/hub.ts") as typeof import("../../src/core/hub.ts");
  const { openSeam, finishSeam, trackLiveTops } = require("../../src/protocols/resume-seam.ts") as typeof import("../../src/protocols/resume-seam.ts");
  const at = (n: number): EmitMessage => ({ ...msg(n), positions: new Map([["r", { epoch: "ep", offset: n }]]) });
  test("an event the read saw but whose live delivery comes after the read is not sent twice", async () => {
    const hub = createHub(() => undefined);
    hub.addFormat(nativeFormat);
    trackLiveTops(hub);
    hub.deliver(at(1));
    const seam = openSeam(hub, "n", "/", "r", 100);
    hub.deliver(at(2)); // during the read
    // The read came back with top 3: event 3 is written, its live delivery still on its way.
    const sent: number[] = [];
    let subscribed = false;
    const done = finishSeam(hub, seam, seam.take()!, "/", "r", { epoch: "ep", offset: 3 }, {
      idOf: (f) => nativeFrameId(f as string),
      forward: (f) => sent.push(JSON.parse(f as string).data),
      subscribe: () => (subscribed = true),
    });
    expect(sent).toEqual([]); // 2 was covered by the replay
    expect(subscribed).toBe(false); // live has not reached 3 yet
    hub.deliver(at(3)); // covered: not forwarded; live has reached the top
    await done;
    expect(subscribed).toBe(true);
    hub.deliver(at(4)); // the seam is closed: the subscription takes it from here
    expect(sent).toEqual([]);
  });
  test("events after the top that come before live reaches it are forwarded, once", async () => {
    const hub = createHub(() => undefined);
    hub.addFormat(nativeFormat);
    trackLiveTops(hub);
    const seam = openSeam(hub, "n", "/", "r", 100);
    const sent: number[] = [];
    const done = finishSeam(hub, seam, seam.take()!, "/", "r", { epoch: "ep", offset: 2 }, {
      idOf: (f) => nativeFrameId(f as string),
      forward: (f) => sent.push(JSON.parse(f as string).data),
      subscribe: () => {},
    });
    hub.deliver(at(1));
    hub.deliver(at(2));
    hub.deliver(at(3)); // same tick as 2: still through the seam, not yet subscribed
    await done;
    expect(sent).toEqual([3]);
  });
});

describe("config", () => {
  const { resolveConfig } = require("../../src/core/config.ts") as typeof import("../../src/core/config.ts");
  const cfg = (flags: Record<string, string[]>, env: Record<string, string> = {}) => resolveConfig({ flags, env, file: null });
  test("--history, --history-ttl, --idempotency-window, and --sse-history as an alias", () => {
    const d = cfg({});
    expect(d.ok && [d.config.history, d.config.historyTtlMs, d.config.idempotencyWindowMs]).toEqual([0, 300_000, 300_000]);
    const c = cfg({ history: ["100"], "history-ttl": ["1m"], "idempotency-window": ["30s"] });
    expect(c.ok && [c.config.history, c.config.historyTtlMs, c.config.idempotencyWindowMs]).toEqual([100, 60_000, 30_000]);
    const alias = cfg({ "sse-history": ["50"] });
    expect(alias.ok && alias.config.history).toBe(50);
    const both = cfg({ "sse-history": ["50"], history: ["7"] });
    expect(both.ok && both.config.history).toBe(7);
    const env = cfg({}, { WS_EMIT_HISTORY: "9" });
    expect(env.ok && env.config.history).toBe(9);
    const bad = cfg({ history: ["-1"], "history-ttl": ["soon"] });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues.join("\n")).toMatch(/--history:[\s\S]*--history-ttl:/);
  });
});

describe("ws-emit emit --idempotency-key", () => {
  const { emitRequest } = require("../../src/commands/emit.ts") as typeof import("../../src/commands/emit.ts");
  test("goes into the body; a bad one is an issue naming the flag", () => {
    const r = emitRequest(["update", "1", "--room", "r", "--idempotency-key", "order-17"], {});
    expect(r.ok && r.value.body).toEqual({ event: "update", data: 1, room: "r", idempotency_key: "order-17" });
    const bad = emitRequest(["update", "--idempotency-key", "x".repeat(201)], {});
    expect(!bad.ok && bad.issues.join()).toContain("--idempotency-key:");
  });
});
