import { describe, expect, test } from "bun:test";
import { decodeToken, parseTtl, roomMatches, signToken, verifyToken, type TokenFailure } from "../../src/auth/token.ts";
import { tokenRequest } from "../../src/commands/token.ts";

const KEY = "S3cret";
const NOW = 1_800_000_000;
const good = signToken({ rooms: ["dir::a.txt", "dir::img/*"], exp: NOW + 60, sub: "u7" }, KEY);
/** Flip one character of the signature / payload. */
const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
const [part, sig] = good.split(".") as [string, string];
const otherPayload = Buffer.from(JSON.stringify({ rooms: ["dir::*"], exp: NOW + 60 })).toString("base64url");

describe("signed tokens", () => {
  const cases: Array<[string, unknown, string, string | null, number, true | TokenFailure]> = [
    ["valid, exact room", good, "dir::a.txt", KEY, NOW, true],
    ["valid, pattern", good, "dir::img/cat.png", KEY, NOW, true],
    ["expired at exp", good, "dir::a.txt", KEY, NOW + 60, "expired"],
    ["expired later", good, "dir::a.txt", KEY, NOW + 3600, "expired"],
    ["tampered signature", `${part}.${flip(sig, 3)}`, "dir::a.txt", KEY, NOW, "bad_signature"],
    ["tampered payload (widened rooms, old signature)", `${otherPayload}.${sig}`, "dir::b", KEY, NOW, "bad_signature"],
    ["truncated signature", `${part}.${sig.slice(0, 10)}`, "dir::a.txt", KEY, NOW, "bad_signature"],
    ["wrong key", good, "dir::a.txt", "other", NOW, "bad_signature"],
    ["roomspace has no secret", good, "dir::a.txt", null, NOW, "bad_signature"],
    ["wrong room", good, "dir::b.txt", KEY, NOW, "room_not_in_token"],
    ["pattern is a prefix, not a glob in the middle", good, "dir::imgx", KEY, NOW, "room_not_in_token"],
    ["not a string", 42, "dir::a.txt", KEY, NOW, "malformed"],
    ["no dot", "abc", "dir::a.txt", KEY, NOW, "malformed"],
    ["two dots", `${good}.x`, "dir::a.txt", KEY, NOW, "malformed"],
    ["payload not JSON", "bm9wZQ.abc", "dir::a.txt", KEY, NOW, "malformed"],
    ["non-base64url characters", "a+b.c/d", "dir::a.txt", KEY, NOW, "malformed"],
    ["no exp", signToken({ rooms: ["dir::a"], exp: NOW } as never, KEY).replace(/^[^.]+/, Buffer.from('{"rooms":["dir::a"]}').toString("base64url")), "dir::a", KEY, NOW, "malformed"],
    ["empty rooms", signToken({ rooms: [], exp: NOW + 9 }, KEY), "dir::a", KEY, NOW, "malformed"],
    ["too long", "a".repeat(5000) + ".b", "dir::a", KEY, NOW, "malformed"],
  ];
  test.each(cases)("%s", (_name, token, room, key, now, want) => {
    const r = verifyToken(token, room, key, now);
    if (want === true) expect(r).toEqual({ ok: true, payload: { rooms: ["dir::a.txt", "dir::img/*"], exp: NOW + 60, sub: "u7" } });
    else {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toBe(want);
    }
  });

  test("padding as Python's urlsafe_b64encode leaves it is accepted, signed over the text as sent", () => {
    const padded = Buffer.from(JSON.stringify({ rooms: ["dir::a"], exp: NOW + 5 })).toString("base64");
    const p = padded.replace(/\+/g, "-").replace(/\//g, "_");
    const { createHmac } = require("node:crypto");
    const s = createHmac("sha256", KEY).update(p).digest("base64url");
    expect(verifyToken(`${p}.${s}`, "dir::a", KEY, NOW).ok).toBe(true);
  });

  test("decode needs no key; matching and TTL parsing", () => {
    expect(decodeToken(good)).toMatchObject({ ok: true, payload: { sub: "u7" } });
    expect(roomMatches("dir::*", "dir::x")).toBe(true);
    expect(roomMatches("dir::*", "dirx::x")).toBe(false);
    expect(roomMatches("*", "any::thing")).toBe(true);
    expect([parseTtl("90"), parseTtl("90s"), parseTtl("30m"), parseTtl("1h"), parseTtl("7d")]).toEqual([90, 90, 1800, 3600, 604800]);
    expect([parseTtl("0"), parseTtl("-1"), parseTtl("1w"), parseTtl("")]).toEqual([null, null, null, null]);
  });

  test("ws-emit token arguments: every problem at once, naming the flag", () => {
    expect(tokenRequest(["--room", "dir::a", "--room", "dir::*", "--secret", "S", "--ttl", "5m", "--sub", "u"], {})).toEqual({ ok: true, rooms: ["dir::a", "dir::*"], secret: "S", ttl: 300, sub: "u", jwt: false });
    expect(tokenRequest(["--room", "dir::a"], { WS_EMIT_TOKEN_SECRET: "E" })).toEqual({ ok: true, rooms: ["dir::a"], secret: "E", ttl: 3600, jwt: false });
    expect(tokenRequest(["--room", "dir::a", "--secret", "S", "--jwt"], {})).toMatchObject({ ok: true, jwt: true });
    const bad = tokenRequest(["--room", "public", "--room", "a::x", "--room", "b::y", "--ttl", "soon", "--bogus", "1"], {});
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues).toEqual(["unknown flag --bogus (see --help)"]);
    const bad2 = tokenRequest(["--room", "public", "--room", "a::x", "--room", "b::y", "--ttl", "soon"], {});
    expect(bad2.ok ? [] : bad2.issues.map((i) => i.split(" ")[0])).toEqual(["--room", "--room:", "--secret", "--ttl"]);
  });
});
