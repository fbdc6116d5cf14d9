import { describe, expect, test } from "bun:test";
import { SignJWT, UnsecuredJWT } from "jose";
import { looksLikeJwt, signJwt, verifyJwt } from "../../src/auth/jwt.ts";
import { signToken, type TokenFailure } from "../../src/auth/token.ts";

const KEY = "S3cret";
const NOW = 1_800_000_000;
const enc = new TextEncoder();
/** A JWT minted by jose itself (not our signJwt), with any header and claims. */
const mint = (claims: Record<string, unknown>, key = KEY, alg = "HS256") => new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(enc.encode(key));
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("standard JWTs as join tokens", async () => {
  const good = await mint({ rooms: ["dir::a.txt", "dir::img/*"], exp: NOW + 60, sub: "u7", iat: NOW - 5 });
  const [h, p, sig] = good.split(".") as [string, string, string];
  const cases: Array<[string, unknown, string, string | null, number, true | TokenFailure]> = [
    ["valid, exact room", good, "dir::a.txt", KEY, NOW, true],
    ["valid, pattern", good, "dir::img/cat.png", KEY, NOW, true],
    ["expired at exp", good, "dir::a.txt", KEY, NOW + 60, "expired"],
    ["wrong key", good, "dir::a.txt", "other", NOW, "bad_signature"],
    ["roomspace has no secret", good, "dir::a.txt", null, NOW, "bad_signature"],
    ["tampered payload (widened rooms)", `${h}.${b64({ rooms: ["dir::*"], exp: NOW + 60 })}.${sig}`, "dir::b", KEY, NOW, "bad_signature"],
    ["no signature", `${h}.${p}.`, "dir::a.txt", KEY, NOW, "bad_signature"],
    ["wrong room", good, "dir::b.txt", KEY, NOW, "room_not_in_token"],
    ["alg none (unsecured)", new UnsecuredJWT({ rooms: ["dir::a.txt"], exp: NOW + 60 }).encode(), "dir::a.txt", KEY, NOW, "malformed"],
    ["alg HS512 refused (pinned to HS256)", await mint({ rooms: ["dir::a.txt"], exp: NOW + 60 }, KEY, "HS512"), "dir::a.txt", KEY, NOW, "malformed"],
    ["no exp", await mint({ rooms: ["dir::a.txt"] }), "dir::a.txt", KEY, NOW, "malformed"],
    ["rooms not a list", await mint({ rooms: "dir::a.txt", exp: NOW + 60 }), "dir::a.txt", KEY, NOW, "malformed"],
    ["nbf in the future", await mint({ rooms: ["dir::a.txt"], exp: NOW + 60, nbf: NOW + 30 }), "dir::a.txt", KEY, NOW, "not_yet_valid"],
    ["nbf passed", await mint({ rooms: ["dir::a.txt"], exp: NOW + 60, nbf: NOW - 30 }), "dir::a.txt", KEY, NOW, true],
    ["aud names the roomspace", await mint({ rooms: ["dir::a.txt"], exp: NOW + 60, aud: "dir" }), "dir::a.txt", KEY, NOW, true],
    ["aud list containing the roomspace", await mint({ rooms: ["dir::a.txt"], exp: NOW + 60, aud: ["x", "dir"] }), "dir::a.txt", KEY, NOW, true],
    ["aud names another roomspace", await mint({ rooms: ["dir::a.txt"], exp: NOW + 60, aud: "img" }), "dir::a.txt", KEY, NOW, "wrong_audience"],
    ["iat not a number", await mint({ rooms: ["dir::a.txt"], exp: NOW + 60, iat: "yesterday" }), "dir::a.txt", KEY, NOW, "malformed"],
    ["header not JSON", `bm9wZQ.${p}.${sig}`, "dir::a.txt", KEY, NOW, "malformed"],
    ["too long", `${h}.${"A".repeat(5000)}.${sig}`, "dir::a.txt", KEY, NOW, "malformed"],
    ["not a string", 42, "dir::a.txt", KEY, NOW, "malformed"],
  ];
  for (const [name, token, room, key, now, want] of cases)
    test(name, async () => {
      const r = await verifyJwt(token, room, key, now);
      expect(r.ok ? true : r.reason).toBe(want);
    });

  test("the payload carries rooms and sub", async () => {
    const r = await verifyJwt(good, "dir::a.txt", KEY, NOW);
    expect(r).toEqual({ ok: true, payload: { rooms: ["dir::a.txt", "dir::img/*"], exp: NOW + 60, sub: "u7" } });
  });

  test("signJwt mints what verifyJwt (and jose's own parser) accepts", async () => {
    const t = await signJwt({ rooms: ["dir::*"], exp: NOW + 60, sub: "u1" }, KEY, NOW);
    expect(t.split(".")).toHaveLength(3);
    expect(JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    expect(await verifyJwt(t, "dir::x", KEY, NOW)).toEqual({ ok: true, payload: { rooms: ["dir::*"], exp: NOW + 60, sub: "u1" } });
  });

  test("looksLikeJwt tells the two formats apart", () => {
    expect(looksLikeJwt(good)).toBe(true);
    expect(looksLikeJwt(signToken({ rooms: ["dir::a"], exp: NOW }, KEY))).toBe(false);
    expect(looksLikeJwt("a.b.c.d")).toBe(false);
    expect(looksLikeJwt(7)).toBe(false);
  });
});
