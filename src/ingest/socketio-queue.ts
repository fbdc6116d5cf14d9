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
 * Methods other than `emit` (`disconnect`, `enter_room`, `leave_room`, `close_room`,
 * `callback`) address python-socketio sessions by sid: they are ignored, not errors.
 * Binary data (pickled bytes, or JSON `binary: true` attachments) is refused with an error:
 * every ws-emit transport sends text frames.
 */
import type { EmitMessage } from "../message.ts";
import { parseEmit } from "./emit-request.ts";
import { decodePickle, isPickleTuple, looksLikePickle, type PickleLimits } from "./pickle.ts";

export type QueueParse =
  | { ok: true; kind: "emit"; value: EmitMessage; format: "pickle" | "json" }
  | { ok: true; kind: "ignored"; method: string; reason: string; sid?: string; namespace?: string }
  | { ok: false; error: string };

const SESSION_METHODS = new Set(["disconnect", "enter_room", "leave_room", "close_room", "callback"]);
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
    // `disconnect` names a Socket.IO client by its socket id, which ws-emit clients have: the
    // caller acts on it (src/auth/own-rooms.ts). The others need server-side sessions.
    if (m.method === "disconnect" && typeof m.sid === "string")
      return { ok: true, kind: "ignored", method: m.method, reason: "no client with that socket id here", sid: m.sid, namespace: typeof m.namespace === "string" && m.namespace ? m.namespace : "/" };
    if (SESSION_METHODS.has(m.method))
      return { ok: true, kind: "ignored", method: m.method, reason: "it addresses python-socketio sessions, which ws-emit does not have" };
    return { ok: false, error: `unknown method "${m.method.slice(0, 50)}"` };
  }
  if (m.binary === true) return { ok: false, error: "binary event data is not supported: ws-emit sends text frames (send base64 instead)" };

  let args: unknown[];
  const data = m.data;
  if (format === "pickle") args = isPickleTuple(data) ? [...(data as unknown[])] : data === null || data === undefined ? [] : [data];
  else if (Array.isArray(data)) args = data.length === 1 && data[0] === null ? [] : data;
  else args = data === null || data === undefined ? [] : [data];
  if (format === "pickle" && hasBinary(args)) return { ok: false, error: "binary event data (bytes) is not supported: ws-emit sends text frames (send base64 instead)" };

  const room = m.room;
  const target = Array.isArray(room) ? { rooms: room } : { room };
  const p = parseEmit({ event: m.event, namespace: m.namespace, ...target, args });
  if (!p.ok) return { ok: false, error: p.error };
  return { ok: true, kind: "emit", value: p.value, format };
}

/** Any bytes inside a decoded value? Iterative, so deep input cannot overflow the stack. */
export function hasBinary(root: unknown): boolean {
  const todo: unknown[] = [root];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v instanceof Uint8Array || v instanceof ArrayBuffer) return true;
    if (typeof v === "object" && v !== null) for (const c of Array.isArray(v) ? v : Object.values(v)) todo.push(c);
  }
  return false;
}
