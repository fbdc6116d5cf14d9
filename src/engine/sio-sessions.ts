/**
 * Socket.IO connection state recovery: what a session needs to be taken up again after a
 * reconnect, keyed by its private id (`pid`, which only that client knows). The record lives
 * one window past the last time its node touched it, so a session whose node died can still
 * be recovered by another node within the window. In memory (one node) or in Redis.
 */
import type { Cluster, Redis } from "ioredis";

export interface SioRecord {
  /** The socket id the client had (given back when free). */
  sid: string;
  namespace: string;
  /** The rooms it had joined, and each one's position when joined (to resume a client that got no event). */
  rooms: string[];
  positions: Record<string, string>;
}

export interface SioSessionStore {
  put(pid: string, rec: SioRecord): Promise<void>;
  /** Take a record once (a pid is recovered by one connection only); null when unknown or expired. */
  take(pid: string): Promise<SioRecord | null>;
  /** The session is live: keep its record another window (called for every live pid, batched). */
  touch(pids: Iterable<string>): Promise<void>;
  close(): void;
}

/** Parse a stored record (Redis is shared: anything may be there). */
export function parseRecord(text: string | null): SioRecord | null {
  if (text === null || text.length > 64 * 1024) return null;
  try {
    const x = JSON.parse(text) as SioRecord;
    if (typeof x?.sid !== "string" || typeof x.namespace !== "string" || !Array.isArray(x.rooms) || !x.rooms.every((r) => typeof r === "string")) return null;
    if (typeof x.positions !== "object" || x.positions === null) return null;
    return { sid: x.sid, namespace: x.namespace, rooms: x.rooms, positions: x.positions };
  } catch {
    return null;
  }
}

export function createMemorySioSessions(windowMs: number, now: () => number = Date.now): SioSessionStore {
  const recs = new Map<string, { rec: SioRecord; until: number }>();
  const timer = setInterval(() => {
    const t = now();
    for (const [k, v] of recs) if (v.until < t) recs.delete(k);
  }, Math.min(windowMs, 30_000));
  timer.unref?.();
  return {
    async put(pid, rec) {
      recs.set(pid, { rec, until: now() + windowMs });
    },
    async take(pid) {
      const v = recs.get(pid);
      recs.delete(pid);
      return v && v.until >= now() ? v.rec : null;
    },
    async touch(pids) {
      const until = now() + windowMs;
      for (const p of pids) {
        const v = recs.get(p);
        if (v) v.until = until;
      }
    },
    close: () => clearInterval(timer),
  };
}

export function createRedisSioSessions(client: Redis | Cluster, prefix: string, windowMs: number): SioSessionStore {
  const k = (pid: string) => `${prefix}:sio:${pid}`;
  return {
    put: async (pid, rec) => void (await client.set(k(pid), JSON.stringify(rec), "PX", windowMs)),
    take: async (pid) => parseRecord(await client.getdel(k(pid))),
    async touch(pids) {
      // Auto-pipelined: one round trip for the batch.
      await Promise.all([...pids].map((p) => client.pexpire(k(p), windowMs)));
    },
    close() {},
  };
}
