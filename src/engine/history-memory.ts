/**
 * In-memory room history: a ring of the last N events per room (one process, no Redis).
 * Rooms start in an epoch drawn from this process's random one and the room's name (a
 * restart makes new ones, so positions from before it never match, and a position of one
 * room never matches another room). A room idle past HISTORY_META_TTL_MS is forgotten; once any room was, new
 * rooms get an epoch of their own, so a forgotten room that comes back cannot be taken for
 * its old self. Memory: N events per room written within the TTL, ~100 bytes per room idle.
 */
import { newEpoch, type Position } from "../core/history-id.ts";
import type { EmitMessage } from "../core/message.ts";
import { decideRead, HISTORY_META_TTL_MS, roomKey, type HistoryOptions, type HistoryStore, type StoredEvent } from "./history.ts";

interface Slot {
  offset: number;
  at: number;
  msg: EmitMessage;
}
interface Room {
  epoch: string;
  top: number;
  lastAt: number;
  /** ring[offset % size] */
  ring: Array<Slot | undefined>;
}

export function createMemoryHistory(opts: HistoryOptions, now: () => number = Date.now): HistoryStore & { readonly roomCount: number; sweep(): void } {
  const { size, ttlMs } = opts;
  const rooms = new Map<string, Room>();
  const processEpoch = newEpoch();
  const epochOf = (key: string) => BigInt(`0x${new Bun.CryptoHasher("sha256").update(`${processEpoch}|${key}`).digest("hex").slice(0, 16)}`).toString(36).padStart(10, "0").slice(-10);
  let forgot = false;

  function sweep() {
    const t = now();
    for (const [k, r] of rooms) {
      if (t - r.lastAt > HISTORY_META_TTL_MS) {
        rooms.delete(k);
        forgot = true;
      }
      // Past the TTL the events go; the epoch and top stay (see HISTORY_META_TTL_MS).
      else if (t - r.lastAt > ttlMs && r.ring.length > 0) r.ring = [];
    }
  }
  const timer = setInterval(sweep, Math.max(1000, Math.min(ttlMs, 60_000)));
  timer.unref?.();

  return {
    kind: "memory",
    get roomCount() {
      return rooms.size;
    },
    sweep,
    async append(msg) {
      const out = new Map<string, Position>();
      if (msg.rooms === null) return out;
      const t = now();
      for (const room of msg.rooms) {
        const k = roomKey(msg.namespace, room);
        let r = rooms.get(k);
        if (!r) rooms.set(k, (r = { epoch: forgot ? newEpoch() : epochOf(k), top: 0, lastAt: t, ring: [] }));
        r.top++;
        r.lastAt = t;
        r.ring[r.top % size] = { offset: r.top, at: t, msg };
        out.set(room, { epoch: r.epoch, offset: r.top });
      }
      return out;
    },
    async read(namespace, room, since) {
      // A room never written reads as offset 0 of its epoch, and is not stored (clients
      // choose the rooms they read): its first event is offset 1 of that epoch unless a room
      // was forgotten meanwhile, and then the reader is told it cannot resume (never a hole).
      const k = roomKey(namespace, room);
      const room_ = rooms.get(k) ?? { epoch: epochOf(k), top: 0, lastAt: 0, ring: [] };
      const oldest = now() - ttlMs;
      return decideRead({ epoch: room_.epoch, offset: room_.top }, since, size, (from, count) => {
        const got: StoredEvent[] = [];
        for (let o = from; o < from + count; o++) {
          const s = room_.ring[o % size];
          if (!s || s.offset !== o || s.at < oldest) return null;
          got.push({ offset: o, msg: s.msg });
        }
        return got;
      });
    },
    async close() {
      clearInterval(timer);
    },
  };
}
