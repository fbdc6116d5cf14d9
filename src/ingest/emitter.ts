/**
 * `@socket.io/redis-emitter` messages → EmitMessage. Pure.
 *
 * The emitter (and its ports for PHP, Java, Go…) PUBLISHes msgpack
 * `[uid, {type: 2, data: [event, ...args], nsp}, {rooms: [...], except: [...], flags: {...}}]`
 * on `socket.io#<nsp>#` (broadcast) or `socket.io#<nsp>#<room>#` (exactly one room). We read
 * the target from the message itself, so the channel only has to match `socket.io#*`.
 *
 * - `rooms` empty → every client of the namespace; otherwise those rooms.
 * - `except` → the members of those rooms are left out (each client, on every transport).
 * - `flags` (`volatile`, `compress`) are delivery hints: ignored.
 * - Binary arguments (Buffers) are carried: Socket.IO clients get binary attachments, the text
 *   formats base64 (src/ingest/binary.ts).
 * - Packet types other than EVENT (2) / BINARY_EVENT (5) are ignored.
 */
import { msgpackShapeError } from "./msgpack-shape.ts";
import { decode } from "notepack.io";
import type { EmitMessage } from "../core/message.ts";
import { parseEmit } from "./emit-request.ts";
import { withBinary } from "./binary.ts";
import { quote } from "../core/bounds.ts";

export type EmitterParse =
  | { ok: true; kind: "emit"; value: EmitMessage }
  | { ok: true; kind: "ignored"; reason: string }
  | { ok: false; error: string };

const EVENT = 2;
const BINARY_EVENT = 5;

/** Parse one message from a `socket.io#…` channel. Never throws. */
export function parseEmitterMessage(payload: Uint8Array, maxBytes = 16 * 1024 * 1024): EmitterParse {
  if (payload.length > maxBytes) return { ok: false, error: `message is ${payload.length} bytes, more than the limit of ${maxBytes}` };
  // The decoder believes declared lengths (an 8-byte header can ask for 4 GB): check the framing first.
  const shape = msgpackShapeError(payload);
  if (shape !== null) return { ok: false, error: `not msgpack: ${shape}` };
  let msg: unknown;
  try {
    // notepack wants a Buffer (it reads with Buffer methods).
    msg = decode(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  } catch (e) {
    return { ok: false, error: `not msgpack: ${(e as Error)?.message ?? String(e)}` };
  }
  if (!Array.isArray(msg) || msg.length < 2) return { ok: false, error: "expected a msgpack array [uid, packet, options]" };
  const packet = msg[1] as Record<string, unknown> | null;
  const opts = (msg[2] ?? {}) as Record<string, unknown> | null;
  if (typeof packet !== "object" || packet === null) return { ok: false, error: "the packet is not a map" };
  if (typeof opts !== "object" || opts === null) return { ok: false, error: "the options are not a map" };
  if (packet.type !== EVENT && packet.type !== BINARY_EVENT) return { ok: true, kind: "ignored", reason: `packet type ${quote(packet.type)} is not an event` };
  const data = packet.data;
  if (!Array.isArray(data) || data.length === 0) return { ok: false, error: "packet data must be [event, ...args]" };

  const except = opts.except;
  if (except !== undefined && except !== null && !Array.isArray(except)) return { ok: false, error: "except must be an array" };
  const rooms = opts.rooms;
  if (rooms !== undefined && rooms !== null && !Array.isArray(rooms)) return { ok: false, error: "rooms must be an array" };

  const args = data.slice(1);
  const p = parseEmit({ event: data[0], namespace: packet.nsp, rooms: rooms && rooms.length > 0 ? rooms : undefined, except, args });
  if (!p.ok) return { ok: false, error: p.error };
  const b = withBinary(p.value);
  if (!b.ok) return b;
  return { ok: true, kind: "emit", value: p.value };
}
