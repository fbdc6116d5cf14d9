/**
 * Signed join tokens. Pure: no I/O.
 *
 *   token   = base64url(payload JSON) "." base64url(HMAC-SHA256(key, <the base64url payload text>))
 *   payload = {"rooms":["dir::a","dir::img/*"],"exp":1767225600,"sub":"user-7"}   (sub optional)
 *
 * The key is the secret of the room's roomspace, so a backend that knows that secret mints
 * tokens for a browser without ever handing the secret itself out. A room pattern ending in
 * "*" matches every room starting with the text before the "*". The MAC covers the encoded
 * payload text exactly as sent, so any language can mint one without canonical JSON.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const MAX_TOKEN_LENGTH = 4096;
export const MAX_TOKEN_ROOMS = 100;

export interface TokenPayload {
  rooms: string[];
  /** Expiry, Unix seconds. */
  exp: number;
  sub?: string;
}

/** not_yet_valid and wrong_audience come from JWTs only (src/auth/jwt.ts: nbf, aud). */
export type TokenFailure = "expired" | "bad_signature" | "malformed" | "room_not_in_token" | "not_yet_valid" | "wrong_audience";
export type TokenCheck = { ok: true; payload: TokenPayload } | { ok: false; reason: TokenFailure; message: string };

/** base64url; trailing "=" padding is tolerated (Python's urlsafe_b64encode keeps it). */
const B64URL_RE = /^[A-Za-z0-9_-]+={0,2}$/;

function mac(key: string, payloadPart: string): Buffer {
  return createHmac("sha256", key).update(payloadPart).digest();
}

/** Build a token. `exp` is Unix seconds. */
export function signToken(payload: TokenPayload, key: string): string {
  if (!key) throw new Error("a token needs a non-empty key");
  const body: Record<string, unknown> = { rooms: payload.rooms, exp: payload.exp };
  if (payload.sub !== undefined) body.sub = payload.sub;
  const part = Buffer.from(JSON.stringify(body)).toString("base64url");
  return `${part}.${mac(key, part).toString("base64url")}`;
}

/** Split and decode a token without checking its signature (its payload is not secret). */
export function decodeToken(token: unknown): { ok: true; payload: TokenPayload; part: string; sig: string } | { ok: false; message: string } {
  if (typeof token !== "string" || token === "") return { ok: false, message: "token must be a non-empty string" };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, message: `token is longer than ${MAX_TOKEN_LENGTH} characters` };
  const dot = token.indexOf(".");
  if (dot < 0 || token.indexOf(".", dot + 1) >= 0) return { ok: false, message: 'token must be "<payload>.<signature>"' };
  const part = token.slice(0, dot);
  const sig = token.slice(dot + 1);
  if (!B64URL_RE.test(part) || !B64URL_RE.test(sig)) return { ok: false, message: "token parts must be base64url" };
  let x: unknown;
  try {
    x = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return { ok: false, message: "token payload is not base64url-encoded JSON" };
  }
  if (typeof x !== "object" || x === null || Array.isArray(x)) return { ok: false, message: "token payload must be a JSON object" };
  const o = x as Record<string, unknown>;
  if (!Array.isArray(o.rooms) || o.rooms.length === 0 || o.rooms.length > MAX_TOKEN_ROOMS || !o.rooms.every((r) => typeof r === "string" && r !== ""))
    return { ok: false, message: `token "rooms" must be a list of 1 to ${MAX_TOKEN_ROOMS} room names or patterns` };
  if (typeof o.exp !== "number" || !Number.isFinite(o.exp)) return { ok: false, message: 'token "exp" (Unix seconds) is required' };
  if (o.sub !== undefined && typeof o.sub !== "string") return { ok: false, message: 'token "sub" must be a string' };
  const payload: TokenPayload = { rooms: o.rooms as string[], exp: o.exp };
  if (o.sub !== undefined) payload.sub = o.sub as string;
  return { ok: true, payload, part, sig };
}

/** Does `pattern` ("dir::a" exactly, or "dir::*" as a prefix) cover `room`? */
export function roomMatches(pattern: string, room: string): boolean {
  return pattern.endsWith("*") ? room.startsWith(pattern.slice(0, -1)) : pattern === room;
}

/**
 * May this token join `room`? `key` is the secret of the room's roomspace (null or empty:
 * no token can be valid). Order: shape, room, signature, expiry — "expired" is only said
 * of a token we signed, and the MAC is compared in constant time.
 */
export function verifyToken(token: unknown, room: string, key: string | null, nowSeconds: number = Date.now() / 1000): TokenCheck {
  const d = decodeToken(token);
  if (!d.ok) return { ok: false, reason: "malformed", message: d.message };
  if (!d.payload.rooms.some((p) => roomMatches(p, room))) return { ok: false, reason: "room_not_in_token", message: `the token does not cover room "${room}"` };
  const presented = Buffer.from(d.sig, "base64url");
  const expected = key ? mac(key, d.part) : null;
  // Equal lengths first (a SHA-256 MAC is 32 bytes): timingSafeEqual throws otherwise.
  if (!expected || presented.length !== expected.length || !timingSafeEqual(presented, expected))
    return { ok: false, reason: "bad_signature", message: "the token's signature does not match the roomspace secret" };
  if (nowSeconds >= d.payload.exp) return { ok: false, reason: "expired", message: "the token has expired" };
  return { ok: true, payload: d.payload };
}

/** "90", "90s", "30m", "1h", "7d" → seconds; null when not a positive duration. */
export function parseTtl(text: string): number | null {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}
