/**
 * Room rules. Pure: no I/O.
 *
 * A room is public unless its name contains "::"; then the text before the first "::"
 * is its roomspace, and joining needs that roomspace's secret.
 */

export const MAX_ROOM_LENGTH = 200;
/** Printable characters except whitespace and the few that break topics/URLs/logs. */
const ROOM_RE = /^[^\s\u0000-\u001f\u007f"\\<>]+$/u;

export type RoomCheck = { ok: true; room: string; roomspace: string | null } | { ok: false; error: string };

/** Validate a room name from a client or backend. */
export function parseRoom(x: unknown): RoomCheck {
  if (typeof x !== "string") return { ok: false, error: "room must be a string" };
  if (x.length === 0) return { ok: false, error: "room must not be empty" };
  if (x.length > MAX_ROOM_LENGTH) return { ok: false, error: `room is longer than ${MAX_ROOM_LENGTH} characters` };
  if (!ROOM_RE.test(x)) return { ok: false, error: "room contains whitespace, control characters or one of \" \\ < >" };
  return { ok: true, room: x, roomspace: roomspaceOf(x) };
}

/** "a::b::c" → "a"; "time" → null. */
export function roomspaceOf(room: string): string | null {
  const i = room.indexOf("::");
  return i < 0 ? null : room.slice(0, i);
}

const ROOMSPACE_RE = /^[A-Za-z0-9._-]{1,100}$/;
export function isValidRoomspace(name: string): boolean {
  return ROOMSPACE_RE.test(name);
}

export const DEFAULT_NAMESPACE = "/";
/** Socket.IO namespace: "/" or "/name"; null/undefined mean "/". */
export function parseNamespace(x: unknown): { ok: true; ns: string } | { ok: false; error: string } {
  if (x === null || x === undefined || x === "") return { ok: true, ns: DEFAULT_NAMESPACE };
  if (typeof x !== "string") return { ok: false, error: "namespace must be a string or null" };
  const ns = x.startsWith("/") ? x : `/${x}`;
  if (ns.length > 100 || !/^\/[A-Za-z0-9._~\/-]*$/.test(ns)) return { ok: false, error: "namespace has invalid characters" };
  return { ok: true, ns };
}
