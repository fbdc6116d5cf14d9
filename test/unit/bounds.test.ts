/**
 * Pure bounds on hostile values: depth, quoting, and the parsers that used to recurse or call
 * String() on client data (issue 11). Each deep value here is 100,000 levels: far past the
 * ~45,000 that overflowed the stack in JSON.stringify.
 */
import { describe, expect, test } from "bun:test";
import { clip, closeReason, deeperThan, MAX_DEPTH, quote } from "../../src/core/bounds.ts";
import { parseEmit } from "../../src/ingest/emit-request.ts";
import { parseClientFrame } from "../../src/protocols/native/codec.ts";
import { parseWsifyCommand } from "../../src/protocols/compat/wsify/codec.ts";
import { parseWebdisFrame } from "../../src/protocols/compat/webdis/codec.ts";
import { decodeFanout, encodeEmit } from "../../src/engine/fanout-codec.ts";
import { decodeSnapshot } from "../../src/ops/cluster-stats.ts";
import { parseEmitterMessage } from "../../src/ingest/emitter.ts";
import { encode } from "notepack.io";

const DEEP = 100_000;
const deepText = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);
const deep = (n: number): unknown => JSON.parse(deepText(n));

describe("deeperThan", () => {
  test("MAX_DEPTH levels pass, one more does not", () => {
    expect(deeperThan(deep(MAX_DEPTH))).toBe(false);
    expect(deeperThan(deep(MAX_DEPTH + 1))).toBe(true);
    expect(deeperThan(JSON.parse(`{"a":${deepText(MAX_DEPTH - 1)}}`))).toBe(false);
    expect(deeperThan(JSON.parse(`{"a":${deepText(MAX_DEPTH)}}`))).toBe(true);
    expect(deeperThan(1)).toBe(false);
    expect(deeperThan("x".repeat(1000))).toBe(false);
  });

  test(`${DEEP} levels are answered without overflowing the stack`, () => {
    expect(deeperThan(deep(DEEP))).toBe(true);
    const obj = JSON.parse('{"a":'.repeat(DEEP) + "1" + "}".repeat(DEEP));
    expect(deeperThan(obj)).toBe(true);
  });

  test("wide but shallow is fine; bytes are leaves", () => {
    expect(deeperThan(Array.from({ length: 10_000 }, (_, i) => ({ i, s: [i] })))).toBe(false);
    expect(deeperThan([new Uint8Array(10)], 1)).toBe(false);
  });
});

describe("quote and clip", () => {
  test("never calls the value's methods and never recurses", () => {
    expect(quote({ toString: 1 })).toBe("an object");
    expect(quote(deep(DEEP))).toBe("an array");
    expect(quote(undefined)).toBe("nothing");
    expect(quote(12)).toBe("12");
    expect(quote(null)).toBe("null");
  });

  test("a long string is cut to 100 characters and says how long it was", () => {
    const q = quote("x".repeat(60_000));
    expect(q.length).toBeLessThan(130);
    expect(q).toContain("60000 characters");
    expect(quote('a"b')).toBe('"a\\"b"');
    expect(clip("y".repeat(500), 10)).toBe("yyyyyyyyyy…");
  });
});

describe("parsers refuse what they used to recurse into", () => {
  test("wsify: a channel whose toString is not a function, or a deep array, is refused", () => {
    for (const channel of [{ toString: 1 }, deep(5000), deep(DEEP)]) {
      const r = parseWsifyCommand({ command: "join", args: { channel } });
      expect(r.ok).toBe(false);
      expect((r as any).error.length).toBeLessThan(200);
    }
    expect(parseWsifyCommand({ command: "join", args: { channels: ["a", { toString: 1 }] } }).ok).toBe(false);
    expect(parseWsifyCommand({ command: "join", args: { channel: 7 } })).toMatchObject({ ok: true, value: { channels: ["7"] } });
    const bc = parseWsifyCommand({ command: "broadcast", args: { channel: "a", content: deep(DEEP) } });
    expect(bc).toEqual({ ok: false, error: expect.stringContaining("deeper than 100") });
    const cmd = parseWsifyCommand({ command: deep(DEEP), args: { channel: "a" } });
    expect(cmd).toEqual({ ok: false, error: expect.stringContaining("unknown command an array") });
  });

  test("native: an unknown deep or long type is quoted cut, never re-serialised whole", () => {
    const r = parseClientFrame(`{"type":${deepText(DEEP)}}`);
    expect(r).toEqual({ ok: false, error: "unknown frame type an array; expected join, leave or ping", id: undefined });
    const long = parseClientFrame(JSON.stringify({ type: "[".repeat(60_000) }));
    expect(long.ok).toBe(false);
    expect((long as any).error.length).toBeLessThan(200);
    expect(parseClientFrame(JSON.stringify({ type: "ping", id: "i".repeat(201) })).ok).toBe(false);
  });

  test("webdis: channel names that are not strings or numbers are refused", () => {
    expect(parseWebdisFrame(JSON.stringify(["SUBSCRIBE", 666]))).toEqual({ ok: true, value: { cmd: "SUBSCRIBE", channels: ["666"] } });
    expect(parseWebdisFrame(`["SUBSCRIBE",${deepText(DEEP)}]`).ok).toBe(false);
    expect(parseWebdisFrame('["UNSUBSCRIBE",{"a":1}]').ok).toBe(false);
    const other = parseWebdisFrame(JSON.stringify(["X".repeat(10_000)]));
    expect(other).toEqual({ ok: true, value: { cmd: "OTHER", name: `${"X".repeat(32)}…` } });
  });

  test("emit: data or an argument past the depth limit is refused with the limit named", () => {
    expect(parseEmit({ event: "e", data: deep(MAX_DEPTH) }).ok).toBe(true);
    expect(parseEmit({ event: "e", data: deep(MAX_DEPTH + 1) })).toEqual({ ok: false, error: expect.stringContaining('"data" nests deeper than 100 levels') });
    expect(parseEmit({ event: "e", data: deep(DEEP) }).ok).toBe(false);
    expect(parseEmit({ event: "e", args: [1, deep(DEEP)] })).toEqual({ ok: false, error: expect.stringContaining('"args"') });
  });

  test("fan-out: deep arguments from Redis are refused, normal ones pass", () => {
    const ok = decodeFanout(encodeEmit("n1", { event: "e", args: [deep(MAX_DEPTH)], namespace: "/", rooms: null }));
    expect(ok.ok).toBe(true);
    const bad = decodeFanout(`["e","n1","e","/",null,[${deepText(DEEP)}]]`);
    expect(bad).toEqual({ ok: false, error: "emit arguments nest too deep" });
    expect(decodeFanout(`[${deepText(DEEP)},"n1"]`)).toEqual({ ok: false, error: "unknown kind an array" });
  });

  test("emitter msgpack: a packet type that is a map with toString is quoted by kind", () => {
    const payload = encode(["uid", { type: { toString: 1 }, data: ["e"], nsp: "/" }, {}]);
    expect(parseEmitterMessage(new Uint8Array(payload))).toEqual({ ok: true, kind: "ignored", reason: "packet type an object is not an event" });
    const deepArgs = encode(["uid", { type: 2, data: ["e", deep(2000)], nsp: "/" }, {}]);
    expect(parseEmitterMessage(new Uint8Array(deepArgs))).toEqual({ ok: false, error: expect.stringMatching(/nest(s)? deeper than (100|512)/) });
  });

  test("cluster stats snapshot: a deep version or extra field is refused", () => {
    expect(decodeSnapshot(`{"v":${deepText(DEEP)}}`)).toEqual({ ok: false, error: "unknown snapshot version an array" });
    const base = { v: 1, id: "a", version: "1", draining: false, at: 1, ttl_ms: 1, pid: 1, uptime_s: 1, connections: 0, rooms: 0, connections_by_transport: {}, top_rooms: [["r", 1]], rates_1m: { events_in_per_s: 0, deliveries_per_s: 0 } };
    expect(decodeSnapshot(JSON.stringify(base)).ok).toBe(true);
    expect(decodeSnapshot(JSON.stringify({ ...base, junk: deep(50) })).ok).toBe(false);
  });
});

describe("closeReason", () => {
  test("at most 123 bytes of UTF-8, cut on a character boundary", () => {
    expect(closeReason("short")).toBe("short");
    const ascii = closeReason("x".repeat(500));
    expect(ascii).toBe("x".repeat(123));
    const wide = closeReason("é".repeat(100)); // 2 bytes each
    expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(123);
    expect(wide).toBe("é".repeat(61));
    expect(closeReason("😀".repeat(40))).toBe("😀".repeat(30));
  });
});
