/**
 * Room positions as clients see them: `<epoch>-<offset>` per room, and, for SSE streams of
 * several rooms, one `Last-Event-ID` holding each room's position. Pure; every parser takes
 * client text, so each is strict and bounded in length before any work.
 */

/** Where an event sits in its room: the room's history generation, and its number in it. */
export interface Position {
  /** Changes whenever the room's history was lost (new stream, restarted memory engine). */
  readonly epoch: string;
  /** 1, 2, 3… within an epoch; 0 means "no event yet". */
  readonly offset: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Epochs are short lowercase base-36 words (see newEpoch). */
const EPOCH_RE = /^[0-9a-z]{1,16}$/;
/** Offsets fit in 15 decimal digits: far below 2^53, so Number() is exact. */
const POSITION_RE = /^([0-9a-z]{1,16})-(0|[1-9][0-9]{0,14})$/;
/** Longest position text: 16 + 1 + 15. */
export const MAX_POSITION_LENGTH = 32;

/** A fresh epoch: 10 base-36 characters from the CSPRNG (a restart must never reuse one). */
export function newEpoch(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n.toString(36).padStart(10, "0").slice(-10);
}

export function isEpoch(s: unknown): s is string {
  return typeof s === "string" && EPOCH_RE.test(s);
}

export function formatPosition(p: Position): string {
  return `${p.epoch}-${p.offset}`;
}

/** Parse a position a client sent (`since`, an SSE list entry); strict, bounded. */
export function parsePosition(x: unknown): Parsed<Position> {
  if (typeof x !== "string") return { ok: false, error: "a position must be a string" };
  if (x.length > MAX_POSITION_LENGTH) return { ok: false, error: `a position is at most ${MAX_POSITION_LENGTH} characters` };
  const m = POSITION_RE.exec(x);
  if (!m) return { ok: false, error: 'a position looks like "<epoch>-<offset>", as in event ids' };
  return { ok: true, value: { epoch: m[1]!, offset: Number(m[2]) } };
}

/**
 * An SSE event id: the positions of every room of the stream, in the order of its `room=`
 * parameters, comma-separated; an empty entry is a room without a known position. A stream
 * of one room therefore has plain `<epoch>-<offset>` ids.
 */
export function formatPositionList(list: ReadonlyArray<Position | null>): string {
  let s = "";
  for (let i = 0; i < list.length; i++) {
    if (i > 0) s += ",";
    const p = list[i];
    if (p) s += `${p.epoch}-${p.offset}`;
  }
  return s;
}

/**
 * Parse an SSE `Last-Event-ID` for a stream of `rooms` rooms. It may have fewer entries than
 * the stream has rooms (a client that reopens its stream with rooms added at the end): the
 * result is as long as the id. An id of another shape (more entries, garbage) is an error: the
 * caller treats every room as unknown. A position handed to the wrong room (a room list
 * reordered) cannot match: epochs differ from room to room.
 */
export function parsePositionList(x: string, rooms: number): Parsed<Array<Position | null>> {
  if (rooms < 1) return { ok: false, error: "no rooms" };
  if (x.length > rooms * (MAX_POSITION_LENGTH + 1)) return { ok: false, error: "id too long for this stream's rooms" };
  const parts = x.split(",");
  if (parts.length > rooms) return { ok: false, error: `id has ${parts.length} entries for ${rooms} room(s)` };
  const out: Array<Position | null> = [];
  for (const p of parts) {
    if (p === "") {
      out.push(null);
      continue;
    }
    const r = parsePosition(p);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return { ok: true, value: out };
}

/** Is `a` the same room history as `b` and at or after it? */
export function samePositionOrLater(a: Position, b: Position): boolean {
  return a.epoch === b.epoch && a.offset >= b.offset;
}
