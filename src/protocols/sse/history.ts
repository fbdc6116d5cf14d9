/**
 * Resume for SSE: the last N events of namespace "/", so an EventSource that reconnects with
 * `Last-Event-ID` gets what it missed. Pure: no I/O.
 *
 * Ids are `<process tag>-<sequence>`: an id from another node or from before a restart has
 * another tag and replays nothing (the client just continues live). Every message is kept
 * whether or not anyone listens, since the one that reconnects was not listening meanwhile.
 * Memory: N messages at most (each as large as its emit).
 */
import type { EmitMessage } from "../../core/message.ts";
import { SSE_ENVELOPE_FORMAT_ID, SSE_FORMAT_ID } from "./codec.ts";

export interface Replayed {
  msg: EmitMessage;
  /** The room it reaches this stream through (null: a broadcast). */
  room: string | null;
}

export interface SseHistory {
  /** Keep `msg` (hub.onDeliver); assigns its id. */
  record(msg: EmitMessage): void;
  /** The id of a recorded message (for the `id:` line), or undefined. */
  idOf(msg: EmitMessage): string | undefined;
  /**
   * What a stream joined to `rooms` (and broadcasts) missed after `lastEventId`, oldest first,
   * once per message (through the first of its rooms the stream is in) as live delivery
   * does; null when the id is not one of ours.
   */
  since(lastEventId: string, rooms: ReadonlySet<string>): Replayed[] | null;
  /** This process's id prefix: ids are `<tag>-<n>`. */
  readonly tag: string;
}

export function createSseHistory(size: number, tag: string = crypto.randomUUID().slice(0, 8)): SseHistory {
  const ring: Array<{ seq: number; msg: EmitMessage } | undefined> = new Array(size);
  const ids = new WeakMap<EmitMessage, number>();
  let seq = 0;
  const forSse = (m: EmitMessage) => m.namespace === "/" && (!m.only || m.only.includes(SSE_FORMAT_ID) || m.only.includes(SSE_ENVELOPE_FORMAT_ID));

  return {
    tag,
    record(msg) {
      if (size === 0 || !forSse(msg) || ids.has(msg)) return;
      seq++;
      ids.set(msg, seq);
      ring[seq % size] = { seq, msg };
    },
    idOf(msg) {
      const n = ids.get(msg);
      return n === undefined ? undefined : `${tag}-${n}`;
    },
    since(lastEventId, rooms) {
      const m = /^([0-9a-f]+)-(\d{1,15})$/.exec(lastEventId.trim());
      if (!m || m[1] !== tag) return null;
      const last = Number(m[2]);
      if (last > seq) return null;
      const out: Replayed[] = [];
      // Oldest kept first: the slot after the newest, walking forward.
      for (let s = Math.max(last + 1, seq - size + 1); s <= seq; s++) {
        const e = ring[s % size];
        if (!e || e.seq !== s) continue;
        // Left out live (except rooms), left out on replay too.
        if (e.msg.except?.some((r) => rooms.has(r))) continue;
        if (e.msg.rooms === null) out.push({ msg: e.msg, room: null });
        else {
          // A part of a multi-room emit split over cluster shards: another part reaches this stream.
          if (e.msg.skipRooms?.some((r) => rooms.has(r))) continue;
          const r = e.msg.rooms.find((x) => rooms.has(x));
          if (r !== undefined) out.push({ msg: e.msg, room: r });
        }
      }
      return out;
    },
  };
}
