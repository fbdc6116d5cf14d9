/**
 * Bounds on values that came from outside (clients, backends, Redis). Pure.
 *
 * JSON.parse takes nesting as deep as the text is long, but JSON.stringify, String() and every
 * recursive walk of ours recurse once per level: ~45,000 levels (≈ 90 KB of `[`) overflow the
 * stack and end the process. So a value is checked once, where it comes in, and a value deeper
 * than MAX_DEPTH is refused there; everything after (encoders, history, fan-out) may then recurse.
 * The checks here recurse at most `maxDepth` levels themselves.
 */

/**
 * Deepest nesting of arrays/objects accepted in event data (`data`, each of `args`, wsify
 * `content`, pickled and msgpack values). `[]` and `{}` are depth 1, `[[1]]` depth 2.
 */
export const MAX_DEPTH = 100;
/** Characters of a client's value quoted back in an error frame or message (the rest is cut). */
export const MAX_QUOTED = 100;

/** Does `v` nest deeper than `maxDepth`? Stops at the first level past it (never walks further down). */
export function deeperThan(v: unknown, maxDepth: number = MAX_DEPTH): boolean {
  return deeper(v, 0, maxDepth);
}

// One module-level function, no closure per call: this runs on every emit (~0.3 µs for a small one).
function deeper(x: unknown, depth: number, max: number): boolean {
  if (typeof x !== "object" || x === null) return false;
  if (ArrayBuffer.isView(x)) return false; // bytes are a leaf
  if (depth >= max) return true;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) if (deeper(x[i], depth + 1, max)) return true;
    return false;
  }
  // Own enumerable keys of parsed data; an inherited enumerable one would only make this stricter.
  for (const k in x) if (deeper((x as Record<string, unknown>)[k], depth + 1, max)) return true;
  return false;
}

/** The refusal message for a value past MAX_DEPTH, naming what was too deep. */
export function depthError(what: string, maxDepth: number = MAX_DEPTH): string {
  return `${what} nests deeper than ${maxDepth} levels (the limit for event data)`;
}

/**
 * A client's value for an error message: strings and numbers as JSON cut to `max` characters,
 * anything else by its kind only. Never recurses into the value and never calls its methods
 * (a `{"toString":1}` object makes String() throw).
 */
export function quote(v: unknown, max: number = MAX_QUOTED): string {
  if (typeof v === "string") {
    const cut = v.length > max;
    const s = JSON.stringify(cut ? v.slice(0, max) : v);
    return cut ? `${s.slice(0, -1)}…" (${v.length} characters)` : s;
  }
  if (typeof v === "number" || typeof v === "boolean" || v === null) return JSON.stringify(v);
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A WebSocket close reason may hold at most 123 bytes of UTF-8 (RFC 6455 §5.5): cut on a character boundary. */
export function closeReason(s: string): string {
  if (s.length <= 41) return s; // 41 UTF-16 units are at most 123 bytes
  const bytes = Buffer.from(s, "utf8");
  if (bytes.length <= 123) return s;
  let end = 123;
  // Back up to the first byte of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}

/** A client's string cut to `max` characters for an error frame (as a field, not quoted). */
export function clip(s: string, max: number = MAX_QUOTED): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
