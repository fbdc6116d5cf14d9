/**
 * Room history: the last N events of every room, each at a position (epoch + offset), so a
 * client that reconnects can be given what it missed, exactly once, or told that it cannot.
 * One interface, two stores: an in-memory ring per room (./history-memory.ts) and Redis
 * Streams shared by every node (./history-redis.ts).
 */
import type { EmitMessage } from "../core/message.ts";
import type { Position } from "../core/history-id.ts";

/** One stored event of a room. */
export interface StoredEvent {
  offset: number;
  msg: EmitMessage;
}

export interface HistoryRead {
  /** The room now: its epoch and its newest offset (0: nothing kept yet in this epoch). */
  top: Position;
  /**
   * What came after `since`, oldest first, when the store can prove nothing is missing; null
   * when it cannot (another epoch, trimmed, expired, more than the history size behind, or an
   * offset from the future). `[]` when `since` was null or is the top.
   */
  events: StoredEvent[] | null;
}

export interface HistoryStore {
  readonly kind: "memory" | "redis";
  /**
   * Store `msg` once in each of its rooms and return each room's position for it. Called by
   * the node that takes the emit, before it is delivered or fanned out. Broadcasts (no room)
   * are not kept. Throws when the store cannot answer.
   */
  append(msg: EmitMessage): Promise<Map<string, Position>>;
  /** A room's top and what it got after `since`. Throws when the store cannot answer. */
  read(namespace: string, room: string, since: Position | null): Promise<HistoryRead>;
  close(): Promise<void>;
}

export interface HistoryOptions {
  /** Events kept per room. */
  size: number;
  /** Events older than this are dropped. */
  ttlMs: number;
}

/**
 * How long a room's epoch and top offset outlive its last event. Longer than the events
 * themselves: a client that saw the last event of a room that then went quiet for an hour
 * still resumes (nothing to replay) instead of being told it lost something.
 */
export const HISTORY_META_TTL_MS = 24 * 3600_000;

/** The key of a room in a store: rooms of different namespaces are different rooms. */
export const roomKey = (namespace: string, room: string) => `${namespace}|${room}`;

/**
 * Decide what a reader gets, given what the store holds: the top, and `fetch(from, count)`
 * for the kept events `from..from+count-1` (null when any of them is gone). Pure: shared by
 * both stores so they cannot disagree on what "recovered" means.
 */
export function decideRead(top: Position, since: Position | null, size: number, fetched: (from: number, count: number) => StoredEvent[] | null): HistoryRead {
  if (since === null) return { top, events: [] };
  if (since.epoch !== top.epoch || since.offset > top.offset) return { top, events: null };
  const missing = top.offset - since.offset;
  if (missing === 0) return { top, events: [] };
  if (missing > size) return { top, events: null };
  const got = fetched(since.offset + 1, missing);
  if (got === null || got.length !== missing) return { top, events: null };
  for (let i = 0; i < got.length; i++) if (got[i]!.offset !== since.offset + 1 + i) return { top, events: null };
  return { top, events: got };
}
