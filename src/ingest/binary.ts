/**
 * Bytes in an emit's arguments (pickled `bytes` from python-socketio / Flask-SocketIO, Buffers
 * from `@socket.io/redis-emitter`). Pure.
 *
 * An emit carrying bytes gets two forms, made once at ingest:
 * - `args`: every byte string replaced by its base64 text, for the formats that send JSON text
 *   (native, SSE, wsify, webdis, wspush);
 * - `binary`: Socket.IO's own form, the arguments with each byte string replaced by
 *   `{"_placeholder":true,"num":N}` and the bytes themselves in order, so socket.io-client
 *   gets an ArrayBuffer (browser) or Buffer (Node) back, as from a Socket.IO server.
 */
import type { EmitMessage } from "../core/message.ts";

/** Deeper than any pickle we accept (the decoder stops at 100) and than sane msgpack. */
const MAX_DEPTH = 1000;

export type BinarySplit = { ok: true; text: unknown[]; binary: NonNullable<EmitMessage["binary"]> | null } | { ok: false; error: string };

/** Split `args` into the text form and Socket.IO's placeholder form; `binary` is null when there are no bytes. */
export function splitBinary(args: unknown[]): BinarySplit {
  const buffers: Uint8Array[] = [];
  let tooDeep = false;
  // Walks once, building both copies; only values that contain bytes are copied.
  const walk = (v: unknown, depth: number): { text: unknown; sio: unknown } | null => {
    if (depth > MAX_DEPTH) {
      tooDeep = true;
      return null;
    }
    if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
      const bytes = v instanceof Uint8Array ? v : new Uint8Array(v);
      buffers.push(bytes);
      return { text: toBase64(bytes), sio: { _placeholder: true, num: buffers.length - 1 } };
    }
    if (typeof v !== "object" || v === null) return null;
    if (Array.isArray(v)) {
      let out: { text: unknown[]; sio: unknown[] } | null = null;
      for (let i = 0; i < v.length; i++) {
        const r = walk(v[i], depth + 1);
        if (r && !out) out = { text: v.slice(), sio: v.slice() };
        if (r && out) {
          out.text[i] = r.text;
          out.sio[i] = r.sio;
        }
      }
      return out;
    }
    let out: { text: Record<string, unknown>; sio: Record<string, unknown> } | null = null;
    for (const [k, x] of Object.entries(v)) {
      const r = walk(x, depth + 1);
      if (r && !out) out = { text: { ...v }, sio: { ...v } };
      if (r && out) {
        out.text[k] = r.text;
        out.sio[k] = r.sio;
      }
    }
    return out;
  };
  const r = walk(args, 0);
  if (tooDeep) return { ok: false, error: `arguments nested deeper than ${MAX_DEPTH} levels` };
  if (!r) return { ok: true, text: args, binary: null };
  return { ok: true, text: r.text as unknown[], binary: { args: r.sio as unknown[], buffers } };
}

/** Give `msg` both forms when its arguments carry bytes. */
export function withBinary(msg: EmitMessage): { ok: true } | { ok: false; error: string } {
  const s = splitBinary(msg.args);
  if (!s.ok) return s;
  if (s.binary) {
    msg.args = s.text;
    msg.binary = s.binary;
  }
  return { ok: true };
}

const toBase64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");

/**
 * The text form back from Socket.IO's form: each placeholder replaced by its bytes in base64.
 * (The fan-out between nodes sends only the Socket.IO form and the bytes.)
 */
export function textArgsOf(binary: NonNullable<EmitMessage["binary"]>): unknown[] {
  const { buffers } = binary;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v !== "object" || v === null || depth > MAX_DEPTH) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (o._placeholder === true && typeof o.num === "number" && buffers[o.num] !== undefined && Object.keys(o).length === 2) return toBase64(buffers[o.num]!);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = walk(x, depth + 1);
    return out;
  };
  return binary.args.map((a) => walk(a, 1));
}
