import { HttpError } from "../core/errors.ts";
import { DEFAULT_NAMESPACE, parseRoom } from "../core/rooms.ts";
import { EngineUnavailable, type Engine } from "../engine/types.ts";
import { isOwnRoom, isSocketIdShaped } from "./own-rooms.ts";
import { secretMatches } from "./secret.ts";
import { verifyToken, type TokenFailure } from "./token.ts";
import { looksLikeJwt, verifyJwt } from "./jwt.ts";

export type JoinCode = "bad_request" | "forbidden" | "unavailable";
/** A refusal; `reason` tells a token's problem apart (e.g. "expired": mint a new one). */
/** `sub`: the signed token's subject (user id), when the join used a token that has one (presence). */
export type JoinCheck = { ok: true; room: string; sub?: string } | { ok: false; code: JoinCode; message: string; reason?: TokenFailure };

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
  if (r.roomspace === null) return { ok: true, room: r.room };
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
    if (!t.ok) return { ok: false, code: "forbidden", reason: t.reason, message: `token refused (${t.reason}): ${t.message}` };
    return t.payload.sub !== undefined ? { ok: true, room: r.room, sub: t.payload.sub } : { ok: true, room: r.room };
  }
  if (!secretMatches(secret, expected)) return { ok: false, code: "forbidden", message: `wrong secret for roomspace "${r.roomspace}"` };
  return { ok: true, room: r.room };
}

/** A refused join before a stream or upgrade: 403 forbidden, 503 unavailable, 400 otherwise. */
export function joinRefused(c: Extract<JoinCheck, { ok: false }>): HttpError {
  const status = c.code === "forbidden" ? 403 : c.code === "unavailable" ? 503 : 400;
  return new HttpError(status, c.code, c.message, c.code === "unavailable" ? { "Retry-After": "5" } : undefined, c.reason ? { reason: c.reason } : undefined);
}
