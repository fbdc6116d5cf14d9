/**
 * Bounds on a decoded pickle as a whole (./pickle.ts decodes; this checks what came out).
 * Memo references let a small pickle stand for a cycle, a huge tree or huge text. Pure.
 */
import type { PickleLimits } from "./pickle.ts";

class TooBig extends Error {}

/**
 * Walk the result: memo references can make cycles (JSON cannot hold them) or a small
 * pickle that expands to a huge tree (a list of the same list, nested) or to huge text (the
 * same 300 KB string referenced 100,000 times; a 3 KB pickle of shared lists made a 5 MB
 * event): every delivery encodes all of it. Bound values, depth, and the size of the whole
 * value as the JSON text it will be sent as (bytes as base64), by the same `maxBytes` as the
 * pickle itself: what a message expands to is held to the limit its encoded size is.
 * Returns what is wrong, or null.
 */
export function boundsError(root: unknown, lim: Required<PickleLimits>): string | null {
  const ancestors = new Set<object>();
  let count = 0;
  let size = 0;
  const maxSize = lim.maxBytes;
  const grow = (n: number) => {
    size += n;
    if (size > maxSize) throw new TooBig(`pickle expands to more than ${maxSize} bytes once memo references are expanded (the size limit holds for the decoded value too)`);
  };
  const walk = (v: unknown, depth: number) => {
    if (++count > lim.maxItems) throw new TooBig(`pickle expands to more than ${lim.maxItems} values`);
    // The JSON text each value becomes: quotes, separators and brackets included.
    if (typeof v === "string") return grow(v.length + 3);
    if (v instanceof Uint8Array) return grow(Math.ceil(v.byteLength / 3) * 4 + 3);
    if (typeof v === "number") return grow(String(v).length + 1);
    if (typeof v !== "object" || v === null) return grow(6);
    if (depth > lim.maxDepth) throw new TooBig(`pickle nests deeper than ${lim.maxDepth} levels`);
    if (ancestors.has(v)) throw new TooBig("pickle contains a value that contains itself");
    ancestors.add(v);
    grow(2);
    if (Array.isArray(v)) for (const c of v) walk(c, depth + 1);
    else
      for (const [k, c] of Object.entries(v)) {
        grow(k.length + 3);
        walk(c, depth + 1);
      }
    ancestors.delete(v);
  };
  try {
    walk(root, 0);
    return null;
  } catch (e) {
    if (e instanceof TooBig) return e.message;
    throw e;
  }
}
