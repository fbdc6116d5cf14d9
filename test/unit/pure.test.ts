import { describe, expect, test } from "bun:test";
import { createOriginPolicy } from "../../src/auth/origin.ts";
import { bearerToken, secretMatches } from "../../src/auth/secret.ts";
import { hitWindow } from "../../src/core/connection.ts";
import { isLoopback } from "../../src/server/http.ts";
import { parseEmit } from "../../src/ingest/emit-request.ts";
import { nativeFormat, parseClientFrame } from "../../src/protocols/native/codec.ts";
import { parseNamespace, parseRoom } from "../../src/core/rooms.ts";

describe("rooms", () => {
  test.each([
    ["time", null],
    ["dir::a.txt", "dir"],
    ["a::b::c", "a"],
    ["::x", ""],
  ])("%s → roomspace %p", (room, space) => {
    expect(parseRoom(room)).toEqual({ ok: true, room, roomspace: space });
  });
  test.each([[""], [" x"], ["a\nb"], ["x".repeat(201)], [42], [null], ['a"b']])("rejects %p", (room) => {
    expect(parseRoom(room).ok).toBe(false);
  });
  test("namespaces", () => {
    expect(parseNamespace(null)).toEqual({ ok: true, ns: "/" });
    expect(parseNamespace("chat")).toEqual({ ok: true, ns: "/chat" });
    expect(parseNamespace("/a b").ok).toBe(false);
  });
});

describe("secrets", () => {
  test("constant-time compare accepts only the exact secret", () => {
    expect(secretMatches("123", "123")).toBe(true);
    expect(secretMatches("124", "123")).toBe(false);
    expect(secretMatches("1234", "123")).toBe(false);
    expect(secretMatches("", "123")).toBe(false);
    expect(secretMatches(123, "123")).toBe(false);
    // An empty or missing stored secret admits nobody, not even an empty guess.
    expect(secretMatches("", "")).toBe(false);
    expect(secretMatches("x", null)).toBe(false);
  });
  test("bearer header", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeNull();
    expect(bearerToken(null)).toBeNull();
  });
  test("loopback addresses", () => {
    expect(["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"].every(isLoopback)).toBe(true);
    expect(["10.0.0.1", "::ffff:10.0.0.1", "", "fe80::1"].some(isLoopback)).toBe(false);
  });
});

describe("origin policy", () => {
  test("list, any, missing Origin", () => {
    const p = createOriginPolicy(["http://localhost:7788"]);
    expect(p.allows("http://localhost:7788")).toBe(true);
    expect(p.allows("HTTP://LOCALHOST:7788/")).toBe(true);
    expect(p.allows("http://127.0.0.1:7788")).toBe(false);
    expect(p.allows(null)).toBe(true);
    expect(p.allowHeader("http://evil.example")).toBeNull();
    expect(createOriginPolicy(["*"]).allows("http://anything.example")).toBe(true);
  });
});

describe("emit object", () => {
  test("the seed's body", () => {
    const r = parseEmit({ event: "update", room: "time", data: { time: 111111 }, namespace: null, secret: "123" });
    expect(r).toEqual({ ok: true, value: { event: "update", args: [{ time: 111111 }], namespace: "/", rooms: ["time"] }, secret: "123" });
  });
  test("no room = broadcast, no data = no argument, args = several", () => {
    expect(parseEmit({ event: "x" })).toMatchObject({ ok: true, value: { rooms: null, args: [] } });
    expect(parseEmit({ event: "x", args: [1, 2] })).toMatchObject({ ok: true, value: { args: [1, 2] } });
    expect(parseEmit({ event: "x", rooms: ["a", "b", "a"] })).toMatchObject({ ok: true, value: { rooms: ["a", "b"] } });
  });
  test.each([
    [[], "JSON object"],
    ["x", "JSON object"],
    [{}, '"event" is required'],
    [{ event: "x", room: "a b" }, '"room"'],
    [{ event: "x", rooms: "a" }, '"rooms" must be an array'],
    [{ event: "connect" }, "reserved"],
    [{ event: "x", data: 1, args: [1] }, "either"],
  ])("rejects %p", (body, msg) => {
    const r = parseEmit(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(msg);
  });
});

describe("native frames", () => {
  test("parse", () => {
    expect(parseClientFrame('{"type":"join","room":"a","secret":"s","id":1}')).toEqual({ ok: true, value: { type: "join", room: "a", secret: "s", id: 1 } });
    expect(parseClientFrame('{"type":"join","room":"a","token":"t.s"}')).toEqual({ ok: true, value: { type: "join", room: "a", secret: undefined, token: "t.s", id: undefined } });
    expect(parseClientFrame("nope")).toMatchObject({ ok: false });
    expect(parseClientFrame('{"type":"dance","id":3}')).toMatchObject({ ok: false, id: 3 });
    expect(parseClientFrame('{"type":"join"}')).toMatchObject({ ok: false });
  });
  test("encode", () => {
    const msg = { event: "update", args: [{ t: 1 }], namespace: "/", rooms: ["time"] };
    expect(JSON.parse(nativeFormat.encode(msg, "time"))).toEqual({ type: "event", room: "time", event: "update", data: { t: 1 } });
    expect(JSON.parse(nativeFormat.encode({ ...msg, args: [] }, null))).toEqual({ type: "event", event: "update" });
    expect(JSON.parse(nativeFormat.encode({ ...msg, args: [1, 2] }, "r")).args).toEqual([1, 2]);
  });
});

describe("rate window", () => {
  test("counts per minute and resets", () => {
    const w = { start: 0, n: 0 };
    expect([hitWindow(w, 2, 0), hitWindow(w, 2, 1), hitWindow(w, 2, 59_999)]).toEqual([false, false, true]);
    expect(hitWindow(w, 2, 60_000)).toBe(false);
  });
});
