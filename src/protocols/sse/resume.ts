/**
 * SSE resume with --history: read every room of a stream (its position, and what it missed
 * since the client's `Last-Event-ID`), then hand the stream what to send before going live:
 * `event: gap` naming the rooms that could not be recovered, the replayed events, and the
 * positions to start from. The stream holds its live frames back meanwhile (./stream.ts).
 */
import { parsePositionList, parsePosition, type Position } from "../../core/history-id.ts";
import type { HistoryRead } from "../../engine/history.ts";
import { DEFAULT_NAMESPACE } from "../../core/rooms.ts";
import type { Ctx } from "../../server/context.ts";
import { atPosition, leftOut } from "../resume-seam.ts";

export interface ResumeTarget {
  done(): boolean;
  /** The history could not be read: end the stream (the client reconnects and tries again). */
  fail(): void;
  /**
   * @param gap the `event: gap` frame, or null
   * @param first the replayed frames (with their position headers), oldest first per room
   * @param start where each room's position starts before the replay (the client's, or the top)
   * @param tops each room's top as read
   * @param covers per room, the top a replay covered (live frames at or before it are dropped); null: nothing replayed
   */
  goLive(gap: string | null, first: string[], start: Array<Position | null>, tops: Position[], covers: Array<Position | null>): void;
}

/** Is `position` (a frame's header) at or before `top`, in the same epoch? */
export function coveredPosition(position: string, top: Position): boolean {
  const p = parsePosition(position);
  return p.ok && p.value.epoch === top.epoch && p.value.offset <= top.offset;
}

/** Resolves once the stream knows every room's position (its headers wait for it). */
export function resumeStream(ctx: Ctx, rooms: string[], lastEventId: string | null, formatId: string, target: ResumeTarget): Promise<void> {
  const history = ctx.engine.history!;
  const format = stateFormats.get(ctx)?.get(formatId);
  // An id of another shape (another room list, the old SSE history's ids): every room is a gap.
  const parsed = lastEventId === null ? null : parsePositionList(lastEventId.trim(), rooms.length);
  const since: Array<Position | null> = rooms.map((_, i) => (parsed?.ok ? (parsed.value[i] ?? null) : null));
  // Rooms past the end of the id were added since: they start fresh (no gap to report).
  const known = parsed?.ok ? parsed.value.length : rooms.length;
  return Promise.all(rooms.map((r, i) => history.read(DEFAULT_NAMESPACE, r, since[i]!)))
    .then((reads: HistoryRead[]) => {
      if (target.done()) return;
      const gaps: string[] = [];
      const frames: string[] = [];
      const mine = new Set(rooms);
      reads.forEach((read, i) => {
        const room = rooms[i]!;
        if (lastEventId === null || i >= known) return;
        if (since[i] === null || read.events === null) {
          gaps.push(room);
          return;
        }
        for (const e of read.events) {
          if (leftOut(e.msg, formatId, (r) => mine.has(r))) continue;
          // Live delivery reaches a stream once, through the first of the emit's rooms it is in.
          if (e.msg.rooms && e.msg.rooms.find((r) => mine.has(r)) !== room) continue;
          if (format) frames.push(format.encode(atPosition(e.msg, room, { epoch: read.top.epoch, offset: e.offset }), room));
        }
      });
      ctx.metrics.inc("ws_emit_resumes_total", { transport: "sse", result: lastEventId === null ? "fresh" : gaps.length ? "gap" : "recovered" });
      const start = rooms.map((_, i) => (lastEventId !== null && i < known && since[i] && reads[i]!.events !== null ? since[i]! : reads[i]!.top));
      const gap = gaps.length ? `event: gap\ndata: ${JSON.stringify(gaps)}\n\n` : null;
      // Every room starts after its top (replayed up to it, or a fresh start there).
      target.goLive(gap, frames, start, reads.map((r) => r.top), reads.map((r) => r.top));
    })
    .catch((e) => {
      // The history cannot answer: the client reconnects (EventSource does) and tries again.
      ctx.metrics.inc("ws_emit_history_errors_total", { op: "read" });
      ctx.log.warn(`SSE resume: room history unreachable: ${(e as Error).message}`);
      target.fail();
    });
}

/** The SSE formats by id per server, registered by installSse (to encode replayed events as live ones). */
export const stateFormats = new WeakMap<Ctx, Map<string, { encode(msg: import("../../core/message.ts").EmitMessage, room: string | null): string }>>();
