/**
 * A safe decoder for Python pickles of plain data (protocols 2 to 5). Pure.
 *
 * Flask-SocketIO and python-socketio < 5.14 publish their message-queue dicts with
 * `pickle.dumps`. A real unpickler runs code (GLOBAL + REDUCE is `os.system(...)`), so this
 * one understands only the opcodes that build dicts, lists, tuples, sets, strings, bytes,
 * numbers, booleans and None, and refuses every other opcode by name. Nothing is imported,
 * looked up or constructed. It never throws: bad input of any kind gives `{ok:false,error}`.
 *
 * Mapping: dict → plain object (keys: str as is; int, float, bool, None as Python's
 * json.dumps writes them), list → array, tuple → array marked so `isPickleTuple` tells it
 * apart (python-socketio sends several event arguments as a tuple), set/frozenset → array,
 * str → string, bytes/bytearray → Uint8Array, int → number (refused past 2^53: a silent
 * rounding would change the value), float → number (NaN/Infinity refused: JSON has none),
 * True/False/None → true/false/null.
 */

import { boundsError } from "./pickle-bounds.ts";

export type PickleResult = { ok: true; value: unknown } | { ok: false; error: string };

export interface PickleLimits {
  /** Largest input accepted, in bytes. */
  maxBytes?: number;
  /** Deepest nesting of containers in the result. */
  maxDepth?: number;
  /** Most values in the result, counting a shared (memoized) value each time it appears. */
  maxItems?: number;
}

export const PICKLE_DEFAULTS: Required<PickleLimits> = { maxBytes: 16 * 1024 * 1024, maxDepth: 100, maxItems: 1_000_000 };

const tuples = new WeakSet<object>();

/** True when `x` came from a Python tuple (rather than a list) in a decoded pickle. */
export function isPickleTuple(x: unknown): boolean {
  return typeof x === "object" && x !== null && tuples.has(x);
}

/** Does this payload look like a pickle of protocol 2 or later (PROTO opcode first)? */
export function looksLikePickle(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x80;
}

/** Opcodes refused by name, so the log says what the sender tried. */
const NAMED: Record<number, string> = {
  0x63: "GLOBAL", 0x93: "STACK_GLOBAL", 0x52: "REDUCE", 0x62: "BUILD", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX",
  0x69: "INST", 0x6f: "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x50: "PERSID", 0x51: "BINPERSID",
  0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP",
  0x49: "INT", 0x4c: "LONG", 0x53: "STRING", 0x56: "UNICODE", 0x46: "FLOAT", 0x70: "PUT", 0x67: "GET",
};

class Fail extends Error {}
const MARK = Symbol("mark");
const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/** Decode `buf` as a pickle of plain data. Never throws. */
export function decodePickle(buf: Uint8Array, limits: PickleLimits = {}): PickleResult {
  const lim = { ...PICKLE_DEFAULTS, ...limits };
  if (buf.length > lim.maxBytes) return { ok: false, error: `pickle is ${buf.length} bytes, more than the limit of ${lim.maxBytes}` };
  try {
    const value = run(buf, lim);
    const tooBig = boundsError(value, lim);
    return tooBig === null ? { ok: true, value } : { ok: false, error: tooBig };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: e.message };
    // Anything else is a bug here, but bad input must still not escape as an exception.
    return { ok: false, error: `pickle could not be decoded: ${(e as Error)?.message ?? String(e)}` };
  }
}

// --- internal ---

type Stack = unknown[];

function run(buf: Uint8Array, lim: Required<PickleLimits>): unknown {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dicts = new WeakSet<object>();
  const lists = new WeakSet<object>();
  const sets = new WeakSet<object>();
  const stack: Stack = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let created = 0;

  const need = (n: number) => {
    if (n < 0 || pos + n > buf.length) throw new Fail(`pickle is truncated at byte ${pos}`);
  };
  const u8 = () => (need(1), buf[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const n = view.getBigUint64(pos, true);
    pos += 8;
    if (n > BigInt(buf.length)) throw new Fail(`length ${n} at byte ${pos - 8} is past the end of the pickle`);
    return Number(n);
  };
  const bytes = (n: number) => {
    need(n);
    pos += n;
    return buf.subarray(pos - n, pos);
  };
  const push = (v: unknown) => {
    if (++created > lim.maxItems) throw new Fail(`pickle holds more than ${lim.maxItems} values`);
    stack.push(v);
  };
  const pop = (): unknown => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new Fail(`pickle stack underflow at byte ${pos - 1}`);
    return v;
  };
  const top = (): unknown => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new Fail(`pickle stack underflow at byte ${pos - 1}`);
    return v;
  };
  /** Items pushed since the last MARK, removing them and the mark. */
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Fail(`pickle has no MARK before byte ${pos - 1}`);
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const tuple = (items: unknown[]) => {
    tuples.add(items);
    return items;
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (typeof d !== "object" || d === null || !dicts.has(d)) throw new Fail(`SETITEM on something that is not a dict at byte ${pos - 1}`);
    const key = dictKey(k);
    // A "__proto__" key must become an own property, never the object's prototype.
    Object.defineProperty(d, key, { value: v, enumerable: true, writable: true, configurable: true });
  };
  const appendTo = (l: unknown, items: unknown[], what: WeakSet<object>, op: string) => {
    if (typeof l !== "object" || l === null || !what.has(l)) throw new Fail(`${op} on the wrong kind of value at byte ${pos - 1}`);
    (l as unknown[]).push(...items);
  };
  const str = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      throw new Fail(`string at byte ${pos - b.length} is not valid UTF-8`);
    }
  };
  /**
   * LONG1/LONG4: little-endian two's complement of any length. Only ±2^53 passes on exactly,
   * so after dropping redundant sign bytes (linear) more than 7 bytes is refused without ever
   * building the number: a BigInt built byte by byte is quadratic (a 1 MB integer took ~110 s)
   * and its decimal text would be megabytes in the log.
   */
  const long = (b: Uint8Array) => {
    let n = b.length;
    if (n === 0) return 0;
    const negative = (b[n - 1]! & 0x80) !== 0;
    const pad = negative ? 0xff : 0x00;
    // A sign byte is redundant when the byte below it carries the same sign.
    while (n > 1 && b[n - 1] === pad && ((b[n - 2]! & 0x80) !== 0) === negative) n--;
    const tooLarge = () => new Fail(`integer of ${b.length} bytes at byte ${pos - b.length} is too large to pass on exactly (limit ±2^53)`);
    if (n > 7) throw tooLarge();
    // At most 7 bytes: the BigInt work is constant.
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (negative) v -= 1n << BigInt(n * 8);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw tooLarge();
    return Number(v);
  };

  if (buf.length < 2 || buf[0] !== 0x80) throw new Fail("not a pickle of protocol 2 or later (it must start with byte 0x80)");

  for (;;) {
    if (pos >= buf.length) throw new Fail("pickle ends without STOP");
    const at = pos;
    const op = buf[pos++]!;
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v < 2 || v > 5) throw new Fail(`pickle protocol ${v} is not supported (2 to 5 are)`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        need(8);
        pos += 8;
        break;
      case 0x2e: { // STOP
        if (pos !== buf.length) throw new Fail(`${buf.length - pos} bytes after STOP`);
        if (stack.length !== 1 || stack[0] === MARK) throw new Fail("pickle does not end with exactly one value");
        return stack[0];
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: { // EMPTY_DICT
        const d = {};
        dicts.add(d);
        push(d);
        break;
      }
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) throw new Fail(`DICT with an odd number of items at byte ${at}`);
        const d = {};
        dicts.add(d);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x5d: { // EMPTY_LIST
        const l: unknown[] = [];
        lists.add(l);
        push(l);
        break;
      }
      case 0x6c: { // LIST
        const l = popMark();
        lists.add(l);
        push(l);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        push(tuple([]));
        break;
      case 0x74: // TUPLE
        push(tuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        push(tuple([pop(), b, c]));
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendTo(top(), [v], lists, "APPEND");
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendTo(top(), items, lists, "APPENDS");
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) throw new Fail(`SETITEMS with an odd number of items at byte ${at}`);
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x8f: { // EMPTY_SET
        const s: unknown[] = [];
        sets.add(s);
        push(s);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        appendTo(top(), items, sets, "ADDITEMS");
        break;
      }
      case 0x91: // FROZENSET
        push(popMark());
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(str(bytes(u8())));
        break;
      case 0x58: // BINUNICODE
        push(str(bytes(u32())));
        break;
      case 0x8d: // BINUNICODE8
        push(str(bytes(u64())));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str): bytes read as Latin-1, as Python 3 would with encoding="latin1"
        push(latin1.decode(bytes(u8())));
        break;
      case 0x54: { // BINSTRING
        const n = i32();
        if (n < 0) throw new Fail(`BINSTRING with a negative length at byte ${at}`);
        push(latin1.decode(bytes(n)));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        push(bytes(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(bytes(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(bytes(u64()).slice());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(bytes(u8())));
        break;
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) throw new Fail(`LONG4 with a negative length at byte ${at}`);
        push(long(bytes(n)));
        break;
      }
      case 0x47: { // BINFLOAT (big-endian)
        need(8);
        const f = view.getFloat64(pos, false);
        pos += 8;
        if (!Number.isFinite(f)) throw new Fail(`float ${f} at byte ${at} has no JSON form`);
        push(f);
        break;
      }
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) throw new Fail(`memo entry ${i} is not defined (byte ${at})`);
        push(memo.get(i));
        break;
      }
      default: {
        const name = NAMED[op];
        throw new Fail(
          name
            ? `pickle opcode ${name} at byte ${at} is refused: only plain data (dict, list, tuple, str, bytes, numbers, bool, None) is accepted`
            : `unknown pickle opcode 0x${op.toString(16).padStart(2, "0")} at byte ${at}`,
        );
      }
    }
  }
}

/** Python dict key → JS property name, the way json.dumps writes keys. */
function dictKey(k: unknown): string {
  if (typeof k === "string") return k;
  if (typeof k === "number") return String(k);
  if (k === true) return "true";
  if (k === false) return "false";
  if (k === null) return "null";
  throw new Fail("a dict key is not a string, number, bool or None");
}
