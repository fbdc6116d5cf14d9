/**
 * What nodes say to each other on the fan-out channel(s). Pure.
 *
 * One JSON array per Redis message, positional to stay small (measured in bench/fanout-codec.ts):
 *   emit:   ["e", node, event, namespace, rooms|null, args] + [raw|null, only|null, skipRooms|null,
 *           extra] as far as the message has them (skipRooms: a part of a multi-room emit split
 *           over shards; extra: {"bin": [placeholder args, [base64 of each attachment]]} when the
 *           emit carried bytes (src/ingest/binary.ts), {"except": [rooms]} for except())
 *   canary: ["c", node, seq]
 * `node` is the sender's id: a node skips its own emits (it delivered them locally already)
 * and only listens to its own canaries.
 */
import { textArgsOf } from "../ingest/binary.ts";
import type { EmitMessage } from "../core/message.ts";
import { deeperThan, MAX_DEPTH, quote } from "../core/bounds.ts";
import { formatPosition, parsePosition, type Position } from "../core/history-id.ts";

export type Fanout = { kind: "emit"; node: string; msg: EmitMessage } | { kind: "canary"; node: string; seq: number };

export function encodeEmit(node: string, msg: EmitMessage): string {
  // With bytes, the text form of the arguments is rebuilt from Socket.IO's form on arrival.
  const base: unknown[] = ["e", node, msg.event, msg.namespace, msg.rooms, msg.binary ? [] : msg.args];
  if (msg.binary !== undefined || msg.except !== undefined || (msg.positions !== undefined && msg.rooms !== null)) {
    const extra: { bin?: [unknown[], string[]]; except?: string[]; pos?: Array<string | null> } = {};
    if (msg.binary) extra.bin = [msg.binary.args, msg.binary.buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64"))];
    if (msg.except) extra.except = msg.except;
    // history (issue 13): each room's position, in the order of `rooms`.
    if (msg.positions && msg.rooms) extra.pos = msg.rooms.map((r) => {
      const p = msg.positions!.get(r);
      return p ? formatPosition(p) : null;
    });
    base.push(msg.raw ?? null, msg.only ?? null, msg.skipRooms ?? null, extra);
  } else if (msg.skipRooms !== undefined) base.push(msg.raw ?? null, msg.only ?? null, msg.skipRooms);
  else if (msg.only !== undefined) base.push(msg.raw ?? null, msg.only);
  else if (msg.raw !== undefined) base.push(msg.raw);
  return JSON.stringify(base);
}

export function encodeCanary(node: string, seq: number): string {
  return JSON.stringify(["c", node, seq]);
}

/** Parse one fan-out message; anything malformed (another deployment, a stray PUBLISH) is an error. */
export function decodeFanout(text: string): { ok: true; value: Fanout } | { ok: false; error: string } {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  if (!Array.isArray(x) || typeof x[1] !== "string") return { ok: false, error: "not a fan-out array" };
  const node = x[1];
  if (x[0] === "c") {
    if (x.length !== 3 || typeof x[2] !== "number") return { ok: false, error: "malformed canary" };
    return { ok: true, value: { kind: "canary", node, seq: x[2] } };
  }
  if (x[0] === "e") {
    const [, , event, namespace, rooms, args, raw, only, skip, extra] = x;
    if (x.length < 6 || x.length > 10 || typeof event !== "string" || typeof namespace !== "string" || !Array.isArray(args))
      return { ok: false, error: "malformed emit" };
    if (rooms !== null && !isStrings(rooms)) return { ok: false, error: "malformed emit rooms" };
    if (x.length >= 7 && raw !== null && typeof raw !== "string") return { ok: false, error: "malformed emit raw" };
    if (x.length >= 8 && !isStrings(only) && !(x.length >= 9 && only === null)) return { ok: false, error: "malformed emit formats" };
    if (x.length >= 9 && !isStrings(skip) && !(x.length === 10 && skip === null)) return { ok: false, error: "malformed emit skipRooms" };
    const ex = (x.length === 10 ? extra : {}) as { bin?: unknown; except?: unknown; pos?: unknown } | null;
    if (typeof ex !== "object" || ex === null || Array.isArray(ex)) return { ok: false, error: "malformed emit extras" };
    const bin = ex.bin;
    if (bin !== undefined && !(Array.isArray(bin) && bin.length === 2 && Array.isArray(bin[0]) && isStrings(bin[1]))) return { ok: false, error: "malformed emit binary" };
    if (ex.except !== undefined && !isStrings(ex.except)) return { ok: false, error: "malformed emit except" };
    // Anyone who can PUBLISH on this Redis can send one: every delivery re-serialises the arguments.
    if (deeperThan(args, MAX_DEPTH + 1) || (bin !== undefined && deeperThan(bin[0], MAX_DEPTH + 1))) return { ok: false, error: "emit arguments nest too deep" };
    const msg: EmitMessage = { event, namespace, rooms: rooms as string[] | null, args };
    if (typeof raw === "string") msg.raw = raw;
    if (x.length >= 8 && only !== null) msg.only = only as string[];
    if (x.length >= 9 && skip !== null) msg.skipRooms = skip as string[];
    if (bin !== undefined) {
      const [sioArgs, b64] = bin as [unknown[], string[]];
      msg.binary = { args: sioArgs, buffers: b64.map((b) => new Uint8Array(Buffer.from(b, "base64"))) };
      msg.args = textArgsOf(msg.binary);
    }
    if (ex.except !== undefined) msg.except = ex.except as string[];
    if (ex.pos !== undefined) {
      const pos = ex.pos;
      if (!Array.isArray(pos) || msg.rooms === null || pos.length !== msg.rooms.length) return { ok: false, error: "malformed emit positions" };
      const m = new Map<string, Position>();
      for (let i = 0; i < pos.length; i++) {
        if (pos[i] === null) continue;
        const p = parsePosition(pos[i]);
        if (!p.ok) return { ok: false, error: "malformed emit position" };
        m.set(msg.rooms[i]!, p.value);
      }
      msg.positions = m;
    }
    return { ok: true, value: { kind: "emit", node, msg } };
  }
  return { ok: false, error: `unknown kind ${quote(x[0])}` };
}

const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((r) => typeof r === "string");
