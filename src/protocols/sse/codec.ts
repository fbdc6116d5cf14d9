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

/** `id:` line for a message when resume is on (see sse-history.ts). */
export type IdOf = (msg: EmitMessage) => string | undefined;
const idLine = (idOf: IdOf | undefined, msg: EmitMessage) => {
  const id = idOf?.(msg);
  return id === undefined ? "" : `id: ${id}\n`;
};

/** The default format; with `idOf`, every event also carries `id:` (for Last-Event-ID). */
export function createSseFormat(idOf?: IdOf): TextFormat {
  return {
    id: SSE_FORMAT_ID,
    once: true,
    encode: (msg) => `${idLine(idOf, msg)}event: ${sanitizeEventName(msg.event)}\ndata: ${sseData(msg.args)}\n\n`,
  };
}

export function createSseEnvelopeFormat(idOf?: IdOf): TextFormat {
  return {
    id: SSE_ENVELOPE_FORMAT_ID,
    once: true,
    encode: (msg, room) => `${idLine(idOf, msg)}data: ${nativeFormat.encode(msg, room)}\n\n`,
  };
}

export const sseFormat = createSseFormat();
export const sseEnvelopeFormat = createSseEnvelopeFormat();

/** First bytes of every stream: the reconnect hint, and a comment so headers flush at once. */
export const SSE_PREAMBLE = `retry: ${SSE_RETRY_MS}\n: ws-emit\n\n`;
/** Heartbeat: a comment line, ignored by EventSource, keeps proxies and NAT entries alive. */
export const SSE_PING = ": ping\n\n";
