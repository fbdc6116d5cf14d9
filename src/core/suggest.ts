/** "Did you mean": the known name closest to a mistyped one (edit distance), or null when none is close. */

/** Levenshtein distance, bounded inputs only (names of flags and keys). */
export function editDistance(a: string, b: string): number {
  if (a.length > 200 || b.length > 200) return Math.max(a.length, b.length);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The closest candidate within a third of the name's length (at least 2 edits), case-insensitive;
 * a candidate that contains the name or ends with it (MAX_ROOMS → WS_EMIT_MAX_ROOMS) wins outright.
 */
export function closest(name: string, candidates: Iterable<string>): string | null {
  const n = name.toLowerCase();
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const l = c.toLowerCase();
    if (n.length >= 4 && (l.endsWith(`_${n}`) || l.endsWith(`-${n}`))) return c;
    const d = editDistance(n, l);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

export const didYouMean = (name: string, candidates: Iterable<string>, show: (c: string) => string = (c) => c) => {
  const c = closest(name, candidates);
  return c === null ? "" : ` (did you mean ${show(c)}?)`;
};

/** At most `max` lines, then one saying how many more there were. */
export function capLines(lines: string[], max = 10): string[] {
  return lines.length <= max ? lines : [...lines.slice(0, max), `… and ${lines.length - max} more`];
}
