/**
 * Where the nodes of one deployment leave their /stats snapshots in Redis, so that any node
 * can show the whole service.
 *
 *   <prefix>:nodes:<nodeId>   the node's snapshot (JSON), SET with PX = its TTL: a node that
 *                             stops writing vanishes when the key expires; a draining one
 *                             deletes it
 *   <prefix>:nodes            sorted set: nodeId → when its snapshot expires (writer's clock),
 *                             so readers find the nodes without KEYS or SCAN
 *
 * Every command takes one key, so this works alike on one Redis and on Redis Cluster (the
 * keys land on any master; reads are auto-pipelined per master). Liveness is the snapshot
 * key's TTL, kept by Redis; the index is only the list of candidates: a member whose key is
 * gone is removed by the reader that notices, members older than an hour by every writer, and
 * the index itself expires an hour after the last write.
 */
import type { NodeOps } from "./redis-link.ts";

export interface NodeEntry {
  id: string;
  snapshot: string;
  /** Milliseconds the snapshot has left to live (Redis PTTL). */
  ttlLeftMs: number;
}

export interface NodeRegistry {
  readonly nodeId: string;
  /** Redis connected: worth trying a put or a list. */
  ready(): boolean;
  /** Store this node's snapshot for `ttlMs`. After `remove()`, does nothing. */
  put(snapshot: string, ttlMs: number): Promise<void>;
  /** The live nodes' snapshots, at most `max` (the most recently refreshed). */
  list(max: number): Promise<NodeEntry[]>;
  /** Take this node out (drain, shutdown); later puts are ignored. */
  remove(): Promise<void>;
}

const INDEX_TTL_MS = 3600_000;

export function nodeKeys(prefix: string) {
  return { index: `${prefix}:nodes`, node: (id: string) => `${prefix}:nodes:${id}` };
}

export function createNodeRegistry(ops: NodeOps, prefix: string, nodeId: string, ready: () => boolean, now: () => number = Date.now): NodeRegistry {
  const keys = nodeKeys(prefix);
  let removed = false;
  return {
    nodeId,
    ready,
    async put(snapshot, ttlMs) {
      if (removed) return;
      // The key first: a reader that finds the id in the index and no key may drop the id.
      await ops.setPx(keys.node(nodeId), snapshot, ttlMs);
      if (removed) return void (await ops.del(keys.node(nodeId)));
      const t = now();
      await Promise.all([ops.zadd(keys.index, t + ttlMs, nodeId), ops.zprune(keys.index, t - INDEX_TTL_MS, INDEX_TTL_MS)]);
    },
    async list(max) {
      const ids = await ops.ztop(keys.index, max);
      const got = await ops.getWithTtl(ids.map(keys.node));
      const out: NodeEntry[] = [];
      got.forEach(({ value, pttl }, i) => {
        const id = ids[i]!;
        if (value === null) {
          // Expired or deleted: forget it (a node that comes back re-adds itself on its next write).
          // Best effort: if this fails, the next reader or the writers' hourly prune does it.
          if (id !== nodeId) ops.zrem(keys.index, id).catch(() => {});
          return;
        }
        out.push({ id, snapshot: value, ttlLeftMs: pttl });
      });
      return out;
    },
    async remove() {
      removed = true;
      await Promise.all([ops.del(keys.node(nodeId)), ops.zrem(keys.index, nodeId)]);
    },
  };
}
