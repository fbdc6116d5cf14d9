/**
 * The seam between replayed and live events. A WebSocket subscribed to a topic gets frames
 * straight from Bun, so while a room's history is read the live frames of that room are
 * caught by a temporary sink instead; once the read is back, the caller sends the replay,
 * then the caught frames newer than it, then subscribes the client itself, all in one
 * synchronous step (no delivery can come in between): no hole, no duplicate.
 */
import { parsePosition, type Position } from "../core/history-id.ts";
import type { Encoded, Hub, Sink } from "../core/hub.ts";
import type { EmitMessage } from "../core/message.ts";

export interface Seam {
  /** Stop catching; the frames caught so far, oldest first, or null when more came than the cap. */
  end(): Encoded[] | null;
}

/** Catch the live frames of `room` in `format` until `end()`; at most `cap` of them. */
export function openSeam(hub: Hub, format: string, namespace: string, room: string, cap: number): Seam {
  let frames: Encoded[] | null = [];
  const sink: Sink = {
    send(f) {
      if (frames === null) return;
      if (frames.length >= cap) frames = null;
      else frames.push(f);
    },
  };
  const topic = hub.subscribe({ sink }, format, namespace, room);
  let open = true;
  return {
    end() {
      if (open) hub.unsubscribe({ sink }, topic);
      open = false;
      return frames;
    },
  };
}

/** The message as delivered at `pos` in `room` (a replayed event carries its stored position). */
export function atPosition(msg: EmitMessage, room: string, pos: Position): EmitMessage {
  return { ...msg, positions: new Map([[room, pos]]) };
}

/** A caught frame that the replay already covered: its `"id"` (the last key of a native frame) is at or before `top`. */
export function coveredBy(frameId: string | null, top: Position): boolean {
  if (frameId === null) return false;
  const p = parsePosition(frameId);
  return p.ok && p.value.epoch === top.epoch && p.value.offset <= top.offset;
}

/** The `"id"` of a native event frame (our own JSON: the id is its last key), or null. */
export function nativeFrameId(frame: string): string | null {
  const m = /,"id":"([0-9a-z]{1,16}-[0-9]{1,15})"\}$/.exec(frame);
  return m ? m[1]! : null;
}

/** Would live delivery have left this subscriber out of `msg` (its `except` rooms, its formats)? */
export function leftOut(msg: EmitMessage, format: string, inRoom: (room: string) => boolean): boolean {
  if (msg.only && !msg.only.includes(format)) return true;
  return msg.except?.some(inRoom) ?? false;
}
