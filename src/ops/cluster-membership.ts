/**
 * Who else is in the cluster, for the log: which nodes this one joined, then who joins and
 * leaves. Pure over the node lists it is given (./cluster-stats.ts reads them every interval).
 */
import type { NodeEntry } from "../engine/node-registry.ts";

/** "a, b, c and 4 more": at most `max` names. */
function listNames(names: string[], max = 8): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/**
 * Who else is in the cluster, for the log: the first look says which nodes this one joined, later
 * looks say who joined and who left. Pure over the lists it is given.
 */
/** `describe`: how a node is named in a line (./cluster-stats.ts: id, host, pid). */
export function createMembership(selfId: string, label: string, describe: (e: NodeEntry) => string = (e) => e.id) {
  let known: Map<string, string> | null = null;
  return {
    /** The log lines for this look at the cluster's nodes (none when nothing changed). */
    update(entries: NodeEntry[]): string[] {
      const now = new Map<string, string>();
      for (const e of entries) if (e.id !== selfId) now.set(e.id, describe(e));
      const total = `${now.size + 1} node${now.size ? "s" : ""}`;
      if (known === null) {
        known = now;
        return [now.size === 0 ? `${label}: no other node yet (this is the first)` : `${label}: joined ${now.size} other node${now.size === 1 ? "" : "s"}: ${listNames([...now.values()])}`];
      }
      const joined = [...now.keys()].filter((id) => !known!.has(id)).map((id) => now.get(id)!);
      const left = [...known.keys()].filter((id) => !now.has(id)).map((id) => known!.get(id)!);
      known = now;
      const lines: string[] = [];
      if (joined.length) lines.push(`${label}: ${listNames(joined)} joined (${total} now)`);
      if (left.length) lines.push(`${label}: ${listNames(left)} left (${total} now)`);
      return lines;
    },
  };
}
