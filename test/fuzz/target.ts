/** What a fuzz target is, and the invariants every accepted emit must keep (shared by the targets). */
import type fc from "fast-check";
import type { EmitMessage } from "../../src/core/message.ts";
import { parseRoom } from "../../src/core/rooms.ts";
import { MAX_EVENT_LENGTH, MAX_ROOMS_PER_EMIT, parseEmit } from "../../src/ingest/emit-request.ts";
import { nest } from "./mutators.ts";

export interface Target<T = any> {
  /** The table row: what is parsed. */
  name: string;
  /** The parser's module(s). */
  source: string;
  arb: fc.Arbitrary<T>;
  /** Run the parser on one input: an invariant violation, or null. Throwing is a crash. */
  run(input: T): string | null;
}

/** Deepest nesting documented at the ingest doors (issue 11; src/core/bounds.ts once merged). */
export const DOOR_DEPTH = 100;

export function depthOver(v: unknown, max: number, d = 0): boolean {
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) return false;
  if (d >= max) return true;
  for (const x of Object.values(v)) if (depthOver(x, max, d + 1)) return true;
  return false;
}

/** Is the depth limit at the door in this build? (then ok results must respect it) */
export const depthLimitAtDoor = (() => {
  const p = parseEmit({ event: "x", data: nest(DOOR_DEPTH + 5, "array") });
  return !p.ok;
})();

/** The invariants of an accepted emit, wherever it came from. */
export function emitViolation(m: EmitMessage): string | null {
  if (typeof m.event !== "string" || m.event === "" || m.event.length > MAX_EVENT_LENGTH) return `bad event ${typeof m.event}`;
  if (typeof m.namespace !== "string" || !m.namespace.startsWith("/")) return "namespace does not start with /";
  if (!Array.isArray(m.args)) return "args is not an array";
  if (m.rooms !== null) {
    if (!Array.isArray(m.rooms) || m.rooms.length === 0 || m.rooms.length > MAX_ROOMS_PER_EMIT) return "bad rooms list";
    for (const r of m.rooms) if (!parseRoom(r).ok) return "an invalid room was accepted";
  }
  if (m.except !== undefined) for (const r of m.except) if (!parseRoom(r).ok) return "an invalid except room was accepted";
  if (depthLimitAtDoor && depthOver(m.args, DOOR_DEPTH + 1)) return "arguments deeper than the door's limit were accepted";
  return null;
}

