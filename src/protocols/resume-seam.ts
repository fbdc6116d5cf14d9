/**
 * The seam between replayed and live events. A WebSocket subscribed to a topic gets frames
 * straight from Bun, so while a room's history is read the live frames of that room are
 * caught by a temporary sink instead. Once the read is back the caller sends the replay; the
 * caught frames newer than it follow, and the sink keeps forwarding newer live frames until
 * live delivery on this node has reached the replay's top (the read may have seen an event
 * whose live delivery was still on its way: the history is written before the fan-out); only
 * then is the client subscribed itself. No hole, no duplicate.
 */
import { parsePosition, type Position } from "../core/history-id.ts";
import type { Encoded, Hub, Sink } from "../core/hub.ts";
import type { EmitMessage } from "../core/message.ts";

export interface Seam {
  /** The frames caught so far, oldest first (null when more came than the cap); catching goes on. */
  take(): Encoded[] | null;
  /** Hand every later frame to `fn` as it comes, until `end()`. */
  pipe(fn: (f: Encoded) => void): void;
  /** Stop catching. */
  end(): void;
}

/** Catch the live frames of `room` in `format` until `end()`; at most `cap` of them. */
export function openSeam(hub: Hub, format: string, namespace: string, room: string, cap: number): Seam {
  let frames: Encoded[] | null = [];
  let piped: ((f: Encoded) => void) | null = null;
  const sink: Sink = {
    send(f) {
      if (piped) return piped(f);
      if (frames === null) return;
      if (frames.length >= cap) frames = null;
      else frames.push(f);
    },
  };
  const topic = hub.subscribe({ sink }, format, namespace, room);
  let open = true;
  return {
    take() {
      const got = frames;
      frames = [];
      return got;
    },
    end() {
      if (open) hub.unsubscribe({ sink }, topic);
      open = false;
    },
    pipe(fn) {
      piped = fn;
    },
  };
}

/** How long a seam waits for live delivery to reach the replay's top (the emitting node may have died in between). */
export const SEAM_WAIT_MS = 2000;
const LIVE_TOPS_CAP = 100_000;
const liveTopsOf = new WeakMap<Hub, Map<string, Position>>();

/**
 * The newest position delivered live on this node in each room (most recent LIVE_TOPS_CAP
 * rooms), fed by hub.onDeliver: whether live delivery has passed what a replay covered.
 */
function liveTops(hub: Hub): Map<string, Position> {
  let m = liveTopsOf.get(hub);
  if (!m) {
    const tops = (m = new Map());
    liveTopsOf.set(hub, tops);
    hub.onDeliver((msg) => {
      if (!msg.positions) return;
      for (const [room, p] of msg.positions) {
        const k = `${msg.namespace}|${room}`;
        tops.delete(k);
        tops.set(k, p);
        if (tops.size > LIVE_TOPS_CAP) tops.delete(tops.keys().next().value!);
      }
    });
  }
  return m;
}

/** Start tracking live positions for `hub` (call once at setup, before any seam opens). */
export function trackLiveTops(hub: Hub): void {
  liveTops(hub);
}

/**
 * After the replay: forward the caught frames not covered by `top` (null: nothing was replayed,
 * forward all and subscribe at once), keep forwarding newer live
 * frames until live delivery here has reached `top` (or SEAM_WAIT_MS passed), then close the
 * seam and `subscribe()` (deferred to a microtask: never inside the delivery that reached it).
 */
export function finishSeam(hub: Hub, seam: Seam, caught: Encoded[], namespace: string, room: string, top: Position | null, opts: { idOf(f: Encoded): string | null; forward(f: Encoded): void; subscribe(): void }): Promise<void> {
  const tops = liveTops(hub);
  const reached = () => {
    // Nothing replayed (a fresh join, or one that could not resume): nothing to leave out.
    if (top === null || top.offset === 0) return true;
    const p = tops.get(`${namespace}|${room}`);
    return p !== undefined && p.epoch === top.epoch && p.offset >= top.offset;
  };
  const pass = (f: Encoded) => {
    if (top === null || !coveredBy(opts.idOf(f), top)) opts.forward(f);
  };
  for (const f of caught) pass(f);
  let done = false;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => (resolve = r));
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    seam.end();
    opts.subscribe();
    resolve();
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (reached()) {
    finish();
    return finished;
  }
  seam.pipe((f) => {
    if (done) return;
    pass(f);
    if (reached()) queueMicrotask(finish);
  });
  timer = setTimeout(finish, SEAM_WAIT_MS);
  return finished;
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
