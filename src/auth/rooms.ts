import { HttpError } from "../core/errors.ts";
import { DEFAULT_NAMESPACE, parseRoom } from "../core/rooms.ts";
import { EngineUnavailable, type Engine } from "../engine/types.ts";
import { isOwnRoom, isSocketIdShaped } from "./own-rooms.ts";
import { secretMatches } from "./secret.ts";
import { verifyToken, type TokenFailure } from "./token.ts";
import { looksLikeJwt, verifyJwt } from "./jwt.ts";

export type JoinCode = "bad_request" | "forbidden" | "unavailable" | "rate_limited";
/**
 * A refusal; `reason` tells a token's problem apart (e.g. "expired": mint a new one). `guess`:
 * a secret or token signature was checked against the roomspace secret and did not match (what
 * src/auth/join-limit.ts counts). `retryAfter` (seconds) comes with `rate_limited`. An admitted
 * join's `sub` is the signed token's subject (user id), when it has one (presence).
 */
export type JoinCheck = { ok: true; room: string; sub?: string } | { ok: false; code: JoinCode; message: string; reason?: TokenFailure; guess?: true; retryAfter?: number };

/**
 * May this client join `room` with `secret` or a signed `token` (src/auth/token.ts)? Public
 * rooms: yes. `space::room`: only with the roomspace's secret, compared in constant time, or
 * with a token signed by that secret; a non-empty token is checked instead of the secret.
 * An unset or empty roomspace secret admits nobody; a store that cannot answer refuses with
 * `unavailable`, never admits by accident. Another client's own room (its socket id) is refused.
 */
export async function checkJoin(engine: Engine, room: unknown, secret: unknown, token?: unknown, ns: string = DEFAULT_NAMESPACE): Promise<JoinCheck> {
  const r = parseRoom(room);
  if (!r.ok) return { ok: false, code: "bad_request", message: r.error };
  if (isOwnRoom(ns, r.room) || isSocketIdShaped(r.room)) return { ok: false, code: "forbidden", message: `room "${r.room}" is another client's own room` };
  if (r.roomspace === null) return admitted(engine, ns, r.room);
  const useToken = token !== undefined && token !== null && token !== "";
  if (!useToken && (typeof secret !== "string" || secret === ""))
    return { ok: false, code: "forbidden", message: `room "${r.room}" is private: send the secret of roomspace "${r.roomspace}" or a token` };
  let expected: string | null;
  try {
    expected = await engine.roomspaceSecret(r.roomspace);
  } catch (e) {
    if (e instanceof EngineUnavailable) return { ok: false, code: "unavailable", message: "the secret store is unreachable; try again later" };
    throw e;
  }
  if (expected === null || expected === "") return { ok: false, code: "forbidden", message: `roomspace "${r.roomspace}" has no secret set: nobody may join its rooms` };
  if (useToken) {
    // A standard JWT (three parts) or our own format (two): same rules, same reasons.
    const t = looksLikeJwt(token) ? await verifyJwt(token, r.room, expected) : verifyToken(token, r.room, expected);
    if (!t.ok) return { ok: false, code: "forbidden", reason: t.reason, message: `token refused (${t.reason}): ${t.message}`, ...(t.reason === "bad_signature" ? { guess: true as const } : {}) };
    return admitted(engine, ns, r.room, t.payload.sub);
  }
  if (!secretMatches(secret, expected)) return { ok: false, code: "forbidden", message: `wrong secret for roomspace "${r.roomspace}"`, guess: true };
  return admitted(engine, ns, r.room);
}

/**
 * An admitted join: first make sure this node hears the room's emits from other nodes (join →
 * subscription confirmed → the caller adds the client and replies), so an emit sent after the
 * reply is never lost. Usually nothing to wait for.
 */
function admitted(engine: Engine, ns: string, room: string, sub?: string): JoinCheck | Promise<JoinCheck> {
  const wait = engine.prepareJoin?.(ns, room);
  const ok: JoinCheck = sub !== undefined ? { ok: true, room, sub } : { ok: true, room };
  return wait ? wait.then(() => ok) : ok;
}

/** A refused join before a stream or upgrade: 403 forbidden, 503 unavailable, 429 rate_limited, 400 otherwise. */
export function joinRefused(c: Extract<JoinCheck, { ok: false }>): HttpError {
  if (c.code === "rate_limited") return new HttpError(429, c.code, c.message, { "Retry-After": String(c.retryAfter ?? 60) });
  const status = c.code === "forbidden" ? 403 : c.code === "unavailable" ? 503 : 400;
  return new HttpError(status, c.code, c.message, c.code === "unavailable" ? { "Retry-After": "5" } : undefined, c.reason ? { reason: c.reason } : undefined);
}
