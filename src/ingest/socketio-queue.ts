/**
 * Flask-SocketIO / python-socketio message-queue messages → EmitMessage. Pure.
 *
 * `SocketIO(message_queue=url).emit(...)` and `RedisManager(url, write_only=True).emit(...)`
 * PUBLISH a dict `{method, event, data, namespace, room, skip_sid, callback, host_id}` on
 * the channel (`flask-socketio`, or python-socketio's `socketio`), encoded as:
 * - python-socketio < 5.14: `pickle.dumps` (protocol 4 on Python 3.8+; we take 2 to 5),
 *   starting with byte 0x80. Decoded by our plain-data-only decoder (./pickle.ts).
 * - python-socketio ≥ 5.14: `json.dumps`; from 5.14.3 with a `binary` flag.
 *
 * `data` → arguments. Rule (the same one python-socketio's own receivers apply):
 * - pickle: a tuple is several arguments, None is none, anything else is one argument
 *   (a list stays one argument). Old senders put the argument itself; only tuples spread.
 * - JSON: a list is the argument list (≥ 5.15.1 always sends one: `[x]` one argument,
 *   `[a, b]` two, `[]` none); anything else is the single argument (5.14.0 to 5.15.0).
 *   A one-element list holding null is no argument, as python-socketio does with None.
 * Ambiguity: a 5.14.0–5.15.0 sender emitting ONE argument that is itself a list (`[1, 2]`)
 * is read as two arguments. No field tells those versions apart (`binary` exists from
 * 5.14.3 in both), and python-socketio ≥ 5.15.1 servers read such a message the same way.
 *
 * Not carried: `skip_sid` (a python-socketio session id; no ws-emit client has one) and
 * `callback` (acks go back to the sending process, which a write-only emitter cannot take).
 * `disconnect`, `enter_room` and `leave_room` name a Socket.IO client by its socket id and
 * `close_room` a room: they come back as `kind: "session"` for the caller to apply to the
 * Socket.IO clients connected here. `callback` (acks for python-socketio's own sessions) is
 * ignored, not an error.
 * Pickled `bytes` are carried (src/ingest/binary.ts): Socket.IO clients get them as binary
 * attachments, the text formats as base64. JSON messages marked `binary: true` (python-socketio
 * ≥ 5.14.3 with bytes in the data) are refused with an error: JSON holds no bytes, and we do
 * not guess at how a sender encoded them.
 */
import type { EmitMessage } from "../core/message.ts";
import { parseRoom } from "../core/rooms.ts";
import { clip } from "../core/bounds.ts";
import { withBinary } from "./binary.ts";
import { parseEmit } from "./emit-request.ts";
import { decodePickle, isPickleTuple, looksLikePickle, type PickleLimits } from "./pickle.ts";

export type QueueParse =
  | { ok: true; kind: "emit"; value: EmitMessage; format: "pickle" | "json" }
  | { ok: true; kind: "session"; method: "disconnect" | "enter_room" | "leave_room"; sid: string; namespace: string; room?: string }
  | { ok: true; kind: "session"; method: "close_room"; namespace: string; room: string; sid?: undefined }
  | { ok: true; kind: "ignored"; method: string; reason: string }
  | { ok: false; error: string };

const SESSION_METHODS = new Set(["callback"]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parse one message published on a python-socketio / Flask-SocketIO channel. Never throws. */
export function parseSocketioQueueMessage(payload: Uint8Array, limits: PickleLimits = {}): QueueParse {
  let msg: unknown;
  let format: "pickle" | "json";
  if (looksLikePickle(payload)) {
    format = "pickle";
    const r = decodePickle(payload, limits);
    if (!r.ok) return { ok: false, error: r.error };
    msg = r.value;
  } else {
    format = "json";
    if (limits.maxBytes !== undefined && payload.length > limits.maxBytes)
      return { ok: false, error: `message is ${payload.length} bytes, more than the limit of ${limits.maxBytes}` };
    try {
      msg = JSON.parse(utf8.decode(payload));
    } catch {
      return { ok: false, error: "message is neither a pickle (protocol 2-5) nor JSON" };
    }
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return { ok: false, error: `message is not a dict (${format})` };
  const m = msg as Record<string, unknown>;
  if (typeof m.method !== "string") return { ok: false, error: `message has no "method" (${format})` };
  if (m.method !== "emit") {
    // Socket ids name ws-emit's Socket.IO clients too: the caller applies these to the ones
    // connected here (src/auth/own-rooms.ts).
    const namespace = typeof m.namespace === "string" && m.namespace ? m.namespace : "/";
    const room = m.room === undefined || m.room === null ? undefined : parseRoom(m.room);
    if (room && !room.ok) return { ok: false, error: `${clip(m.method, 50)}: ${room.error}` };
    switch (m.method) {
      case "disconnect":
      case "enter_room":
      case "leave_room":
        if (typeof m.sid !== "string") return { ok: false, error: `${m.method} without a "sid"` };
        // Socket ids are ~20 characters; a longer one names nobody (and would go into logs).
        if (m.sid.length > 100) return { ok: false, error: `${m.method} with a "sid" longer than 100 characters` };
        if (m.method !== "disconnect" && !room) return { ok: false, error: `${m.method} without a "room"` };
        return { ok: true, kind: "session", method: m.method, sid: m.sid, namespace, room: room?.room };
      case "close_room":
        if (!room) return { ok: false, error: 'close_room without a "room"' };
        return { ok: true, kind: "session", method: "close_room", namespace, room: room.room };
    }
    if (SESSION_METHODS.has(m.method))
      return { ok: true, kind: "ignored", method: m.method, reason: "acks go back to python-socketio's own sessions" };
    return { ok: false, error: `unknown method "${m.method.slice(0, 50)}"` };
  }
  if (m.binary === true) return { ok: false, error: "binary event data in a JSON message is not supported (pickled bytes are): send base64 text instead" };

  let args: unknown[];
  const data = m.data;
  if (format === "pickle") args = isPickleTuple(data) ? [...(data as unknown[])] : data === null || data === undefined ? [] : [data];
  else if (Array.isArray(data)) args = data.length === 1 && data[0] === null ? [] : data;
  else args = data === null || data === undefined ? [] : [data];

  const room = m.room;
  const target = Array.isArray(room) ? { rooms: room } : { room };
  const p = parseEmit({ event: m.event, namespace: m.namespace, ...target, args });
  if (!p.ok) return { ok: false, error: p.error };
  if (format === "pickle") {
    const b = withBinary(p.value);
    if (!b.ok) return b;
  }
  return { ok: true, kind: "emit", value: p.value, format };
}
