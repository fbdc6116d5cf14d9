/**
 * The native protocol at /ws: JSON text frames.
 *   → {"type":"join","room":"dir::a","secret":"S","id":1}   ← {"type":"joined","room":"dir::a","id":1}
 *   → {"type":"join","room":"dir::a","token":"<signed token>"}   (instead of the secret; src/auth/token.ts)
 *   → {"type":"join","room":"time","since":"<event id>"}   ← the events missed since, then
 *     {"type":"joined","room":"time","recovered":true|false,"position":"<id>"} (--history; docs/history.md)
 *   → {"type":"leave","room":"x"}                             ← {"type":"left","room":"x"}
 *   → {"type":"ping"}                                         ← {"type":"pong"}
 *   ← {"type":"event","room":"time","event":"update","data":{…}}   (no "room" for a broadcast;
 *     "args" instead of "data" when an event has several arguments)
 *   ← {"type":"error","code":"forbidden"|"bad_request"|"too_many_rooms"|"unavailable","room":…,"message":…}
 *     (+ "reason":"expired"|"bad_signature"|"malformed"|"room_not_in_token" when a token was refused)
 */
import type { TextFormat } from "../../core/hub.ts";
import type { EmitMessage } from "../../core/message.ts";
import { clip, quote } from "../../core/bounds.ts";
import { MAX_ROOM_LENGTH } from "../../core/rooms.ts";
import { formatPosition } from "../../core/history-id.ts";

export const NATIVE_FORMAT_ID = "n";

export const nativeFormat: TextFormat = {
  id: NATIVE_FORMAT_ID,
  encode(msg: EmitMessage, room: string | null): string {
    const out: Record<string, unknown> = { type: "event" };
    if (room !== null) out.room = room;
    out.event = msg.event;
    if (msg.args.length === 1) out.data = msg.args[0];
    else if (msg.args.length > 1) out.args = msg.args;
    // --history: the event's position in this room, for `join … "since"` (docs/history.md).
    const p = room !== null ? msg.positions?.get(room) : undefined;
    if (p) out.id = formatPosition(p);
    return JSON.stringify(out);
  },
};

/** Longest string `id` a client may send (it comes back in the reply). */
export const MAX_ID_LENGTH = 200;

export type ClientFrame =
  | { type: "join"; room: unknown; secret: unknown; token?: unknown; id: unknown; since?: unknown }
  | { type: "leave"; room: unknown; id: unknown }
  | { type: "ping"; id: unknown };

export type FrameParse = { ok: true; value: ClientFrame } | { ok: false; error: string; id?: unknown };

/** Parse one client text frame. Room names are checked later by the join logic. */
export function parseClientFrame(text: string): FrameParse {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return { ok: false, error: "frame is not valid JSON" };
  }
  if (typeof x !== "object" || x === null || Array.isArray(x)) return { ok: false, error: "frame must be a JSON object" };
  const o = x as Record<string, unknown>;
  const id = o.id;
  if (id !== undefined && typeof id !== "string" && typeof id !== "number") return { ok: false, error: '"id" must be a string or number' };
  // Echoed in every reply: a correlation id, not a payload.
  if (typeof id === "string" && id.length > MAX_ID_LENGTH) return { ok: false, error: `"id" is longer than ${MAX_ID_LENGTH} characters` };
  switch (o.type) {
    case "join":
      if (o.room === undefined) return { ok: false, error: '"room" is required', id };
      return { ok: true, value: { type: "join", room: o.room, secret: o.secret, token: o.token, id, since: o.since } };
    case "leave":
      if (o.room === undefined) return { ok: false, error: '"room" is required', id };
      return { ok: true, value: { type: "leave", room: o.room, id } };
    case "ping":
      return { ok: true, value: { type: "ping", id } };
    default:
      return { ok: false, error: `unknown frame type ${quote(o.type ?? null)}; expected join, leave or ping`, id };
  }
}

/**
 * Server → client control frames; `id` is echoed when the client sent one. With --history a
 * `joined` also says whether the events since the client's position were replayed
 * (`recovered`, only when it sent `since`) and the room's position now (`position`).
 */
export function encodeReply(type: "joined" | "left" | "pong", room: string | undefined, id: unknown, resume?: { recovered?: boolean; position?: string }): string {
  const out: Record<string, unknown> = { type };
  if (room !== undefined) out.room = room;
  if (id !== undefined) out.id = id;
  if (resume?.recovered !== undefined) out.recovered = resume.recovered;
  if (resume?.position !== undefined) out.position = resume.position;
  return JSON.stringify(out);
}

/** An error frame; a room the client sent is echoed cut to MAX_ROOM_LENGTH (a longer one is invalid anyway). */
export function encodeError(code: string, message: string, room?: unknown, id?: unknown, reason?: string): string {
  const out: Record<string, unknown> = { type: "error", code };
  if (reason !== undefined) out.reason = reason;
  if (typeof room === "string") out.room = clip(room, MAX_ROOM_LENGTH);
  out.message = message;
  if (id !== undefined) out.id = id;
  return JSON.stringify(out);
}
