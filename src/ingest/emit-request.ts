/**
 * The emit object, as taken by POST /emit and the Redis JSON channel. Pure.
 * `{"event":"update","room":"time","data":{…},"namespace":null,"secret":"…"}`
 * plus `rooms: [...]` (many rooms in one call), `except: [...]` (leave out the members of
 * these rooms, as Socket.IO's `except()`) and `args: [...]` (several arguments).
 */
import { parseNamespace, parseRoom } from "../core/rooms.ts";
import type { EmitMessage } from "../core/message.ts";
import { deeperThan, depthError, MAX_DEPTH } from "../core/bounds.ts";
import { parseIdempotencyKey } from "../engine/idempotency.ts";

export const MAX_EVENT_LENGTH = 200;
export const MAX_ROOMS_PER_EMIT = 1000;
/** Emits per batch (a JSON array) on POST /emit and on the Redis JSON channel. */
export const MAX_BATCH = 1000;
/** Socket.IO clients treat these names specially; emitting them would break the client. */
const RESERVED_EVENTS = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

/** The event name's own rules; `null` when it is fine. Shared with `ws-emit emit`. */
export function eventNameError(event: unknown): string | null {
  if (typeof event !== "string" || event === "") return '"event" is required and must be a non-empty string';
  if (event.length > MAX_EVENT_LENGTH) return `"event" is longer than ${MAX_EVENT_LENGTH} characters`;
  if (RESERVED_EVENTS.has(event)) return `"${event}" is reserved by Socket.IO clients and cannot be emitted`;
  return null;
}

export type EmitParse = { ok: true; value: EmitMessage; secret: unknown } | { ok: false; error: string };

export function parseEmit(x: unknown): EmitParse {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return { ok: false, error: "the emit must be a JSON object" };
  const o = x as Record<string, unknown>;
  const eventError = eventNameError(o.event);
  if (eventError) return { ok: false, error: eventError };

  const ns = parseNamespace(o.namespace);
  if (!ns.ok) return { ok: false, error: `"namespace": ${ns.error}` };

  let rooms: string[] | null = null;
  if (o.room !== undefined && o.room !== null) {
    const r = parseRoom(o.room);
    if (!r.ok) return { ok: false, error: `"room": ${r.error}` };
    rooms = [r.room];
  }
  if (o.rooms !== undefined && o.rooms !== null) {
    if (!Array.isArray(o.rooms)) return { ok: false, error: '"rooms" must be an array of room names' };
    if (o.rooms.length > MAX_ROOMS_PER_EMIT) return { ok: false, error: `"rooms" has more than ${MAX_ROOMS_PER_EMIT} entries` };
    rooms ??= [];
    for (const item of o.rooms) {
      const r = parseRoom(item);
      if (!r.ok) return { ok: false, error: `"rooms": ${r.error}` };
      if (!rooms.includes(r.room)) rooms.push(r.room);
    }
    if (rooms.length === 0) return { ok: false, error: '"rooms" is empty: omit it to broadcast to everyone' };
  }

  let except: string[] | undefined;
  if (o.except !== undefined && o.except !== null) {
    const list = typeof o.except === "string" ? [o.except] : o.except;
    if (!Array.isArray(list)) return { ok: false, error: '"except" must be a room name or an array of them' };
    if (list.length > MAX_ROOMS_PER_EMIT) return { ok: false, error: `"except" has more than ${MAX_ROOMS_PER_EMIT} entries` };
    except = [];
    for (const item of list) {
      const r = parseRoom(item);
      if (!r.ok) return { ok: false, error: `"except": ${r.error}` };
      if (!except.includes(r.room)) except.push(r.room);
    }
    if (except.length === 0) except = undefined;
  }

  let args: unknown[];
  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) return { ok: false, error: '"args" must be an array of arguments' };
    if (o.data !== undefined) return { ok: false, error: 'send either "data" (one argument) or "args" (a list), not both' };
    args = o.args;
  } else args = o.data === undefined ? [] : [o.data];
  // Refused here, at the door: every encoder, the SSE history and the fan-out recurse per level.
  if (deeperThan(args, MAX_DEPTH + 1)) return { ok: false, error: depthError(o.args !== undefined ? 'an argument in "args"' : '"data"') };

  // history (issue 13): a repeat of this key within --idempotency-window is not delivered.
  const key = parseIdempotencyKey(o.idempotency_key);
  if (!key.ok) return { ok: false, error: key.error };

  const value: EmitMessage = { event: o.event as string, args, namespace: ns.ns, rooms };
  if (except) value.except = except;
  if (key.value !== undefined) value.idempotencyKey = key.value;
  return { ok: true, value, secret: o.secret };
}
