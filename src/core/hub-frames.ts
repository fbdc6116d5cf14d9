/**
 * What a format makes of one message, and how it goes out on a WebSocket: one text frame, or
 * (Socket.IO with bytes) a text frame followed by binary frames, in that order. Pure but for
 * the sends.
 */
import type { Server, ServerWebSocket } from "bun";

/**
 * A message that takes several frames: Socket.IO's binary event is a text packet followed by
 * one binary frame per attachment, sent in that order to the same subscribers.
 */
export interface MultiFrame {
  readonly parts: readonly [string, ...Uint8Array[]];
}
/** What a format makes of one message: one text frame, or (Socket.IO with bytes) several. */
export type Encoded = string | MultiFrame;

/** The text of a frame from a TextFormat (its sinks never get a MultiFrame). */
export const textOf = (f: Encoded): string => (typeof f === "string" ? f : f.parts[0]);

/** Send one encoded message on a WebSocket; false when Bun dropped any of its frames. */
export function sendEncoded(ws: ServerWebSocket<unknown>, f: Encoded): boolean {
  if (typeof f === "string") return ws.send(f, false) !== 0;
  let ok = true;
  // Bun answers 0 for an empty frame too (an empty bytes attachment): that one is no drop.
  for (const p of f.parts) if (ws.send(p, false) === 0 && p.length > 0) ok = false;
  return ok;
}

/** Publish one encoded message to a topic; false when Bun dropped any of its frames for someone. */
export function publishEncoded(server: Pick<Server<unknown>, "publish">, topic: string, f: Encoded): boolean {
  if (typeof f === "string") return server.publish(topic, f, false) !== 0;
  let ok = true;
  for (const p of f.parts) if (server.publish(topic, p, false) === 0 && p.length > 0) ok = false;
  return ok;
}
