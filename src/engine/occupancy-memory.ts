/** Occupancy store for one node (no Redis): the local counts are the totals; transitions go to the in-memory webhook queue. */
import type { OccupancyStore, Page, RoomCount, Transition } from "./occupancy.ts";

export function createMemoryOccupancyStore(enqueue: ((t: Transition[]) => void) | null): OccupancyStore {
  const rooms = new Map<string, number>();
  const members = new Map<string, Set<string>>();
  /** Sorted page after `cursor` (the last key of the previous page; "0" = from the start). */
  function page<T>(keys: Iterable<string>, cursor: string, count: number, map: (k: string) => T): Page<T> {
    const sorted = [...keys].filter((k) => cursor === "0" || k > cursor.slice(1)).sort();
    const items = sorted.slice(0, count);
    return { items: items.map(map), cursor: sorted.length > count ? `>${items.at(-1)}` : "0" };
  }
  return {
    async apply(changes, mem) {
      const out: Transition[] = [];
      for (const [room, n] of changes) {
        const had = rooms.has(room);
        if (n > 0) rooms.set(room, n);
        else rooms.delete(room);
        if (!had && n > 0) out.push({ type: "room_occupied", room });
        if (had && n <= 0) out.push({ type: "room_vacated", room });
      }
      for (const [room, sub, n] of mem) {
        let s = members.get(room);
        const had = s?.has(sub) ?? false;
        if (n > 0 && !had) {
          if (!s) members.set(room, (s = new Set()));
          s.add(sub);
          out.push({ type: "member_added", room, sub });
        } else if (n <= 0 && had) {
          s!.delete(sub);
          if (s!.size === 0) members.delete(room);
          out.push({ type: "member_removed", room, sub });
        }
      }
      if (out.length) enqueue?.(out);
      return { transitions: out, lost: false };
    },
    room: async (key) => {
      const n = rooms.get(key) ?? 0;
      return { subscribers: n, nodes: n > 0 ? 1 : 0 };
    },
    list: async (prefix, cursor, count): Promise<Page<RoomCount>> =>
      page([...rooms.keys()].filter((k) => k.startsWith(prefix)), cursor, count, (room) => ({ room, subscribers: rooms.get(room)! })),
    members: async (key, cursor, count) => page(members.get(key) ?? [], cursor, count, (s) => s),
    reap: async () => ({ nodes: 0, transitions: [] }),
    close: async () => {},
  };
}
