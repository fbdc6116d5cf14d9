/**
 * wspush compatibility (a Go relay): clients connect with `?token=Foo`; a message published on
 * Redis channel `<prefix>Foo` (or emitted to room `wspush::Foo`) reaches them verbatim, as a
 * WebSocket text frame or as Server-Sent Events (`data:<line>` per line). Pure: no I/O.
 *
 * Tokens: without a key, any 1–64 characters. With a key (base64url, no padding), a token is
 * base64url-nopad(payload ‖ HMAC-MD5(key, payload)), at most 64 characters; the 16 MAC bytes
 * are checked in constant time. Routing uses the whole token.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { TextFormat } from "../../../core/hub.ts";
import type { EmitMessage } from "../../../core/message.ts";
import { payloadText } from "../webdis/codec.ts";

export const WSPUSH_FORMAT_ID = "wspush";
export const WSPUSH_SSE_FORMAT_ID = "wspush-sse";
/** Private roomspace holding wspush tokens: no secret is ever set for it, so only wspush clients get in. */
export const WSPUSH_ROOMSPACE = "wspush";
export const MAX_TOKEN_LENGTH = 64;

export const roomOfToken = (token: string) => `${WSPUSH_ROOMSPACE}::${token}`;

export const wspushFormat: TextFormat = {
  id: WSPUSH_FORMAT_ID,
  encode: (msg: EmitMessage) => payloadText(msg),
};

/** One SSE event of the default "message" type; every line of the payload is its own data line. */
export const wspushSseFormat: TextFormat = {
  id: WSPUSH_SSE_FORMAT_ID,
  encode: (msg: EmitMessage) => `${payloadText(msg).split(/\r\n|\r|\n/).map((l) => `data:${l}`).join("\n")}\n\n`,
};

const B64URL = /^[A-Za-z0-9_-]+$/;

export function decodeKey(key: string): Uint8Array | null {
  if (!B64URL.test(key)) return null;
  const bytes = Buffer.from(key, "base64url");
  return bytes.length > 0 ? bytes : null;
}

export type TokenCheck = { ok: true; token: string } | { ok: false; error: string };

export function checkWspushToken(token: string | null, key: Uint8Array | null): TokenCheck {
  if (!token) return { ok: false, error: "missing ?token=" };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, error: `token is longer than ${MAX_TOKEN_LENGTH} characters` };
  if (!key) {
    if (/[\s\u0000-\u001f"\\<>]/.test(token)) return { ok: false, error: "token has invalid characters" };
    return { ok: true, token };
  }
  if (!B64URL.test(token)) return { ok: false, error: "token is not base64url" };
  const raw = Buffer.from(token, "base64url");
  if (raw.length <= 16) return { ok: false, error: "token is too short to carry a signature" };
  const payload = raw.subarray(0, raw.length - 16);
  const mac = raw.subarray(raw.length - 16);
  const want = createHmac("md5", key).update(payload).digest();
  if (!timingSafeEqual(mac, want)) return { ok: false, error: "token signature does not match" };
  return { ok: true, token };
}

/** Mint a signed token (for tests and the docs' examples). */
export function signWspushToken(payload: string | Uint8Array, key: Uint8Array): string {
  const p = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  return Buffer.concat([p, createHmac("md5", key).update(p).digest()]).toString("base64url");
}
