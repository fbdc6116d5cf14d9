/**
 * Standard JWTs as join tokens: HS256 signed with the roomspace secret, so any JWT library
 * (PyJWT, firebase/php-jwt, jose, jsonwebtoken…) can mint one.
 *
 *   header  {"alg":"HS256","typ":"JWT"}         alg pinned: "none", RS256, HS512… are refused
 *   claims  {"rooms":["dir::a","dir::img/*"],"exp":1767225600,"sub":"user-7",
 *            "nbf"?, "iat"?, "aud"?}
 *
 * Verification is jose's (signature, alg pinning, exp/nbf/iat/aud): a well-reviewed library
 * instead of our own claim rules. It is async, which is fine: checkJoin already awaits the
 * secret store. The same failure reasons as our own token format (src/auth/token.ts), plus
 * "not_yet_valid" (nbf in the future) and "wrong_audience".
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT } from "jose";
import { MAX_TOKEN_LENGTH, MAX_TOKEN_ROOMS, roomMatches, type TokenCheck, type TokenPayload } from "./token.ts";

/** Three base64url parts: the JWT compact form (our own format has two). */
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Is this token text shaped like a JWT (header.payload.signature)? Cheap, no decoding. */
export function looksLikeJwt(token: unknown): token is string {
  return typeof token === "string" && token.length <= MAX_TOKEN_LENGTH && JWT_RE.test(token);
}

const encoder = new TextEncoder();

/**
 * Imported HMAC keys by secret: jose imports a raw key into WebCrypto on every call (~40 µs of a
 * ~50 µs verify); a CryptoKey is reused. Few secrets exist (one per roomspace): bounded anyway.
 */
const keys = new Map<string, Promise<CryptoKey>>();
const MAX_KEYS = 1000;
function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    if (keys.size >= MAX_KEYS) keys.clear();
    k = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    keys.set(secret, k);
  }
  return k;
}

/**
 * May this JWT join `room`? `key` is the roomspace secret (null or empty: never valid).
 * Order as for our own tokens: shape, room, then signature and claims (jose checks the
 * signature before exp/nbf, so "expired" is only said of a token we signed).
 * An `aud` claim, when given, must name the room's roomspace ("dir" for "dir::a"): a token
 * cannot be replayed on another roomspace that happens to share the secret.
 */
export async function verifyJwt(token: unknown, room: string, key: string | null, nowSeconds: number = Date.now() / 1000): Promise<TokenCheck> {
  if (typeof token !== "string" || token === "") return { ok: false, reason: "malformed", message: "token must be a non-empty string" };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed", message: `token is longer than ${MAX_TOKEN_LENGTH} characters` };
  if (!JWT_RE.test(token)) return { ok: false, reason: "malformed", message: 'a JWT is "<header>.<payload>.<signature>" in base64url' };
  let claims: Record<string, unknown>;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== "HS256") return { ok: false, reason: "malformed", message: `JWT alg must be HS256 (got ${typeof header.alg === "string" ? JSON.stringify(header.alg.slice(0, 20)) : "none"})` };
    claims = decodeJwt(token) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: "malformed", message: "the JWT's header or payload is not base64url-encoded JSON" };
  }
  const shaped = payloadOf(claims);
  if (!shaped.ok) return { ok: false, reason: "malformed", message: shaped.error };
  if (!shaped.value.rooms.some((p) => roomMatches(p, room))) return { ok: false, reason: "room_not_in_token", message: `the token does not cover room "${room}"` };
  if (!key) return { ok: false, reason: "bad_signature", message: "the token's signature does not match the roomspace secret" };
  try {
    await jwtVerify(token, await hmacKey(key), {
      algorithms: ["HS256"],
      requiredClaims: ["exp"],
      currentDate: new Date(nowSeconds * 1000),
      ...(claims.aud !== undefined ? { audience: room.slice(0, room.indexOf("::")) } : {}),
    });
  } catch (e) {
    return failureOf(e);
  }
  return { ok: true, payload: shaped.value };
}

function failureOf(e: unknown): Extract<TokenCheck, { ok: false }> {
  if (e instanceof errors.JWTExpired) return { ok: false, reason: "expired", message: "the token has expired" };
  if (e instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "bad_signature", message: "the token's signature does not match the roomspace secret" };
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === "nbf") return { ok: false, reason: "not_yet_valid", message: 'the token is not valid yet ("nbf" is in the future)' };
    if (e.claim === "aud") return { ok: false, reason: "wrong_audience", message: 'the "aud" claim does not name the roomspace of the room' };
    return { ok: false, reason: "malformed", message: `JWT claim "${e.claim.slice(0, 20)}" is invalid` };
  }
  if (e instanceof errors.JOSEError) return { ok: false, reason: "malformed", message: "the JWT could not be verified (malformed)" };
  throw e;
}

/** The claims we use, checked by hand (jose checks exp/nbf/iat types and values). */
function payloadOf(o: Record<string, unknown>): { ok: true; value: TokenPayload } | { ok: false; error: string } {
  if (!Array.isArray(o.rooms) || o.rooms.length === 0 || o.rooms.length > MAX_TOKEN_ROOMS || !o.rooms.every((r) => typeof r === "string" && r !== ""))
    return { ok: false, error: `JWT claim "rooms" must be a list of 1 to ${MAX_TOKEN_ROOMS} room names or patterns` };
  if (typeof o.exp !== "number" || !Number.isFinite(o.exp)) return { ok: false, error: 'JWT claim "exp" (Unix seconds) is required' };
  if (o.sub !== undefined && typeof o.sub !== "string") return { ok: false, error: 'JWT claim "sub" must be a string' };
  return { ok: true, value: { rooms: o.rooms as string[], exp: o.exp, ...(o.sub !== undefined ? { sub: o.sub as string } : {}) } };
}

/** Mint an HS256 JWT (`ws-emit token --jwt`). `exp` is Unix seconds. */
export async function signJwt(payload: TokenPayload & { aud?: string }, key: string, nowSeconds: number = Math.floor(Date.now() / 1000)): Promise<string> {
  if (!key) throw new Error("a token needs a non-empty key");
  const j = new SignJWT({ rooms: payload.rooms }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt(nowSeconds).setExpirationTime(payload.exp);
  if (payload.sub !== undefined) j.setSubject(payload.sub);
  if (payload.aud !== undefined) j.setAudience(payload.aud);
  return j.sign(encoder.encode(key));
}
