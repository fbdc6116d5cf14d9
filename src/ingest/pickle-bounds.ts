/**
 * Bounds on a decoded pickle as a whole (./pickle.ts decodes; this checks what came out).
 * Memo references let a small pickle stand for a cycle, a huge tree or huge text. Pure.
 */
import type { PickleLimits } from "./pickle.ts";

class TooBig extends Error {}

/** How much larger than the pickle its data may be once every memo reference is expanded. */
export const MAX_EXPANSION = 8;

/**
 * Walk the result: memo references can make cycles (JSON cannot hold them) or a small
 * pickle that expands to a huge tree (a list of the same list, nested) or to huge text (the
 * same 300 KB string or bytes referenced 100,000 times: every delivery would encode it that
 * many times). Bound all three: values, depth, and the expanded size of strings and bytes.
 * Returns what is wrong, or null.
 */
export function boundsError(root: unknown, lim: Required<PickleLimits>): string | null {
  const ancestors = new Set<object>();
  let count = 0;
  let size = 0;
  const maxSize = MAX_EXPANSION * lim.maxBytes;
  const grow = (n: number) => {
    size += n;
    if (size > maxSize) throw new TooBig(`pickle expands to more than ${maxSize} bytes of text (memo references repeat its data)`);
  };
  const walk = (v: unknown, depth: number) => {
    if (++count > lim.maxItems) throw new TooBig(`pickle expands to more than ${lim.maxItems} values`);
    if (typeof v === "string") return grow(v.length);
    if (v instanceof Uint8Array) return grow(v.byteLength);
    if (typeof v !== "object" || v === null) return;
    if (depth > lim.maxDepth) throw new TooBig(`pickle nests deeper than ${lim.maxDepth} levels`);
    if (ancestors.has(v)) throw new TooBig("pickle contains a value that contains itself");
    ancestors.add(v);
    if (Array.isArray(v)) for (const c of v) walk(c, depth + 1);
    else
      for (const [k, c] of Object.entries(v)) {
        grow(k.length);
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
