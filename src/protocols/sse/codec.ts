/**
 * Server-Sent Events wire format. Pure.
 *
 * Default (`/sse?room=…`): one SSE event per emit, named after the emit's event,
 *   event: update
 *   data: {"time":1}
 * `data` is the JSON of the single argument; `null` when the emit had no argument; the JSON
 * array of the arguments when it had several. JSON.stringify never yields a raw CR or LF, so
 * `data` is always one line. The room is not in the frame (use the envelope when it matters).
 * A multi-room emit reaches a stream once, whichever of its rooms the stream is in (`once`);
 * the envelope then names the one of those rooms it came through.
 *
 * Envelope (`/sse?format=envelope`): every emit as an unnamed event (EventSource `message`)
 * whose data is the native protocol's event object, so one `onmessage` sees every event name:
 *   data: {"type":"event","room":"time","event":"update","data":{"time":1}}
 */
import type { TextFormat } from "../../core/hub.ts";
import type { EmitMessage } from "../../core/message.ts";
import { nativeFormat } from "../native/codec.ts";
import { formatPosition } from "../../core/history-id.ts";

export const SSE_FORMAT_ID = "sse";
export const SSE_ENVELOPE_FORMAT_ID = "ssee";
/** Reconnect delay suggested to EventSource (`retry:`), ms. */
export const SSE_RETRY_MS = 3000;

/** An event name cannot carry a line break: it would end the field (and could forge others). */
export function sanitizeEventName(name: string): string {
  return name.replace(/[\r\n]/g, "_");
}

/** The `data` text of an emit: one argument as itself, none as null, several as an array. */
export function sseData(args: readonly unknown[]): string {
  const v = args.length === 0 ? null : args.length === 1 ? args[0] : args;
  return JSON.stringify(v) ?? "null";
}

/**
 * --history: a frame of an event that has a position in `room` starts with a private header,
 * `\0<position>\0<room>\0`, which never reaches a client: each stream replaces it with its
 * own `id:` line, the positions of all of its rooms (src/core/history-id.ts), since one frame
 * is shared by streams of different room sets. Room names hold no control characters.
 */
export const POSITION_MARK = "\0";
const mark = (msg: EmitMessage, room: string | null) => {
  const p = room === null ? undefined : msg.positions?.get(room);
  return p ? `${POSITION_MARK}${formatPosition(p)}${POSITION_MARK}${room}${POSITION_MARK}` : "";
};

/** Split a frame into its header (position and room) and the SSE text; null position when it has none. */
export function splitMarked(frame: string): { position: string | null; room: string; text: string } {
  if (!frame.startsWith(POSITION_MARK)) return { position: null, room: "", text: frame };
  const a = frame.indexOf(POSITION_MARK, 1);
  const b = frame.indexOf(POSITION_MARK, a + 1);
  return { position: frame.slice(1, a), room: frame.slice(a + 1, b), text: frame.slice(b + 1) };
}

/** The default format. */
export function createSseFormat(): TextFormat {
  return {
    id: SSE_FORMAT_ID,
    once: true,
    encode: (msg, room) => `${mark(msg, room)}event: ${sanitizeEventName(msg.event)}\ndata: ${sseData(msg.args)}\n\n`,
  };
}

export function createSseEnvelopeFormat(): TextFormat {
  return {
    id: SSE_ENVELOPE_FORMAT_ID,
    once: true,
    encode: (msg, room) => `${mark(msg, room)}data: ${nativeFormat.encode(msg, room)}\n\n`,
  };
}

export const sseFormat = createSseFormat();
export const sseEnvelopeFormat = createSseEnvelopeFormat();

/** First bytes of every stream: the reconnect hint, and a comment so headers flush at once. */
export const SSE_PREAMBLE = `retry: ${SSE_RETRY_MS}\n: ws-emit\n\n`;
/** Heartbeat: a comment line, ignored by EventSource, keeps proxies and NAT entries alive. */
export const SSE_PING = ": ping\n\n";
