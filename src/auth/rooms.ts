import { parseRoom } from "../rooms.ts";
import { EngineUnavailable, type Engine } from "../engine/types.ts";
import { secretMatches } from "./secret.ts";

export type JoinCode = "bad_request" | "forbidden" | "unavailable";
export type JoinCheck = { ok: true; room: string } | { ok: false; code: JoinCode; message: string };

/**
 * May this client join `room` with `secret`? Public rooms: yes. `space::room`: only with
 * the roomspace's secret, compared in constant time; an unset or empty secret admits nobody;
 * a store that cannot answer refuses with `unavailable`, never admits by accident.
 */
export async function checkJoin(engine: Engine, room: unknown, secret: unknown): Promise<JoinCheck> {
  const r = parseRoom(room);
  if (!r.ok) return { ok: false, code: "bad_request", message: r.error };
  if (r.roomspace === null) return { ok: true, room: r.room };
  if (typeof secret !== "string" || secret === "")
    return { ok: false, code: "forbidden", message: `room "${r.room}" is private: send the secret of roomspace "${r.roomspace}"` };
  let expected: string | null;
  try {
    expected = await engine.roomspaceSecret(r.roomspace);
  } catch (e) {
    if (e instanceof EngineUnavailable) return { ok: false, code: "unavailable", message: "the secret store is unreachable; try again later" };
    throw e;
  }
  if (!secretMatches(secret, expected)) return { ok: false, code: "forbidden", message: `wrong secret for roomspace "${r.roomspace}"` };
  return { ok: true, room: r.room };
}
