/**
 * A linear, non-recursive check of msgpack bytes before they are decoded. The decoder trusts
 * declared lengths: an 8-byte ext header declaring 300 MB makes it allocate and copy 300 MB byte
 * by byte (tens of seconds, found by `npm run fuzz`). Here every declared length must fit in the
 * bytes that are there, so decoding stays linear in the input. Pure.
 */

/**
 * Deepest container nesting let through to the (recursive) decoder: far below where its
 * recursion overflows (~50,000), far above the depth limit on event data checked after decoding
 * (which then says what is wrong in its own words).
 */
export const MAX_MSGPACK_NESTING = 10_000;

/** Why `b` is not exactly one well-framed msgpack value, or null when it is. */
export function msgpackShapeError(b: Uint8Array, maxNesting = MAX_MSGPACK_NESTING): string | null {
  const n = b.length;
  let i = 0;
  // Values still to read at each open container; the top level holds exactly one.
  const stack: number[] = [];
  let pending = 1;
  const u16 = (at: number) => (b[at]! << 8) | b[at + 1]!;
  const u32 = (at: number) => b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  for (;;) {
    if (pending === 0) {
      if (stack.length === 0) break;
      pending = stack.pop()!;
      continue;
    }
    if (i >= n) return "truncated";
    pending--;
    const t = b[i++]!;
    let skip = -1; // payload bytes to skip
    let count = -1; // values of a container
    let head = 0; // length-field bytes
    if (t <= 0x7f || t >= 0xe0) continue; // fixint
    if (t <= 0x8f) count = (t & 0x0f) * 2; // fixmap
    else if (t <= 0x9f) count = t & 0x0f; // fixarray
    else if (t <= 0xbf) skip = t & 0x1f; // fixstr
    else {
      switch (t) {
        case 0xc0: case 0xc2: case 0xc3: continue; // nil, false, true
        case 0xc1: return "reserved type byte 0xc1";
        case 0xc4: case 0xd9: head = 1; break; // bin8, str8
        case 0xc5: case 0xda: head = 2; break;
        case 0xc6: case 0xdb: head = 4; break;
        case 0xc7: head = 1; break; // ext8 (+ type byte)
        case 0xc8: head = 2; break;
        case 0xc9: head = 4; break;
        case 0xca: case 0xce: case 0xd2: skip = 4; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xd4: skip = 2; break; // fixext: type + data
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: case 0xde: head = 2; break; // array16, map16
        case 0xdd: case 0xdf: head = 4; break;
        default: return `unknown type byte 0x${t.toString(16)}`;
      }
    }
    if (head > 0) {
      if (i + head > n) return "truncated";
      const len = head === 1 ? b[i]! : head === 2 ? u16(i) : u32(i);
      i += head;
      if (t === 0xdc || t === 0xdd) count = len;
      else if (t === 0xde || t === 0xdf) count = len * 2;
      else skip = t >= 0xc7 && t <= 0xc9 ? len + 1 : len;
    }
    if (skip >= 0) {
      if (skip > n - i) return `a value declares ${skip} bytes but only ${n - i} are left`;
      i += skip;
      continue;
    }
    // Every value takes at least one byte: more values than bytes left cannot be right.
    if (count > n - i) return `a container declares ${count} values but only ${n - i} bytes are left`;
    if (count > 0) {
      if (stack.length >= maxNesting) return `containers nest deeper than ${maxNesting}`;
      stack.push(pending);
      pending = count;
    }
  }
  return i === n ? null : `${n - i} bytes after the value`;
}
