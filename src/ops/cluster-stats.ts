/**
 * The cluster view of /stats. With the Redis engine every node writes a compact snapshot of its
 * own numbers every --stats-interval (kept for 3 intervals, ./engine/node-registry.ts); /stats
 * reads every live node's snapshot and sums them: nodes, connections, rooms with their summed
 * subscriber counts, message rates. A node that stops writing drops out when its snapshot
 * expires; a draining node removes it itself.
 *
 * Bounded: a snapshot holds at most SNAPSHOT_MAX_ROOMS rooms (its largest) and
 * SNAPSHOT_MAX_BYTES; a read takes at most MAX_NODES nodes; the view lists the
 * CLUSTER_TOP_ROOMS largest rooms. Past those bounds room counts are lower bounds and the view
 * says so (`rooms_exact: false`).
 *
 * The snapshot codec and the summing are pure; createClusterStats adds the timer and the cache.
 */
import { deeperThan, quote } from "../core/bounds.ts";
import type { NodeEntry, NodeRegistry } from "../engine/node-registry.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { createMembership } from "./cluster-membership.ts";

export const SNAPSHOT_TTL_FACTOR = 3;
export const SNAPSHOT_MAX_ROOMS = 500;
export const SNAPSHOT_MAX_BYTES = 64 * 1024;
export const CLUSTER_TOP_ROOMS = 100;
export const MAX_NODES = 1000;
/** /stats requests within this long share one Redis read (this node's own numbers are always live). */
const READ_CACHE_MS = 1000;
/** While Redis is not connected (at start, in an outage), look again this often instead of every interval. */
const NOT_READY_RETRY_MS = 200;

/** What one node tells the others about itself. */
export interface NodeSnapshot {
  v: 1;
  id: string;
  /** When it was taken, by the writer's clock (ms). */
  at: number;
  /** How long Redis keeps it (ms). */
  ttl_ms: number;
  version: string;
  /** The machine's name (absent from older nodes). */
  host?: string;
  pid: number;
  uptime_s: number;
  draining: boolean;
  connections: number;
  connections_by_transport: Record<string, number>;
  /** Rooms with a local subscriber (all of them, even past `top_rooms`). */
  rooms: number;
  /** The largest local rooms, largest first: [room, subscriptions]. */
  top_rooms: Array<[string, number]>;
  rates_1m: { events_in_per_s: number; deliveries_per_s: number };
}

export interface ClusterNode extends Pick<NodeSnapshot, "version" | "host" | "pid" | "uptime_s" | "draining" | "connections" | "rooms"> {
  id: string;
  /** The node answering this /stats. */
  self?: true;
  /** Seconds since the node wrote its snapshot (0 for this node: its live numbers). */
  age_s: number;
}

export type ClusterView =
  | {
      available: true;
      /** --cluster; null for the unnamed cluster. */
      name: string | null;
      nodes: ClusterNode[];
      node_count: number;
      connections: number;
      connections_by_transport: Record<string, number>;
      /** Distinct rooms over all nodes (a lower bound when `rooms_exact` is false). */
      rooms: number;
      rooms_exact: boolean;
      /** The largest rooms, subscriber counts summed over the nodes. */
      top_rooms: Record<string, number>;
      /** Sums of the nodes' per-second averages over the last minute. */
      rates_1m: { events_in_per_s: number; deliveries_per_s: number };
      /** Snapshots that could not be read (another version, corrupt). */
      unreadable?: number;
    }
  | { available: false; name: string | null; error: string };

/** The `k` largest entries, largest first (ties by name), without sorting every room. */
export function topRooms(rooms: Map<string, number>, k: number): Array<[string, number]> {
  let entries = [...rooms];
  if (entries.length > k) {
    const counts = Float64Array.from(entries, (e) => e[1]).sort();
    const threshold = counts[counts.length - k]!;
    entries = entries.filter((e) => e[1] >= threshold);
  }
  return entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, k);
}

/** JSON of a snapshot within SNAPSHOT_MAX_BYTES: the smallest rooms go first when it is larger. */
export function encodeSnapshot(s: NodeSnapshot, maxBytes = SNAPSHOT_MAX_BYTES): string {
  let snap = s.top_rooms.length > SNAPSHOT_MAX_ROOMS ? { ...s, top_rooms: s.top_rooms.slice(0, SNAPSHOT_MAX_ROOMS) } : s;
  let text = JSON.stringify(snap);
  while (utf8Length(text) > maxBytes && snap.top_rooms.length > 0) {
    snap = { ...snap, top_rooms: snap.top_rooms.slice(0, Math.floor(snap.top_rooms.length / 2)) };
    text = JSON.stringify(snap);
  }
  return text;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;
const isCount = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;

/** Parse a snapshot read from Redis; anything else (another version, a stray key) is an error. */
export function decodeSnapshot(text: string): { ok: true; value: NodeSnapshot } | { ok: false; error: string } {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  if (typeof x !== "object" || x === null || Array.isArray(x)) return { ok: false, error: "not an object" };
  const o = x as Record<string, unknown>;
  if (o.v !== 1) return { ok: false, error: `unknown snapshot version ${quote(o.v)}` };
  // The snapshot is served again in /stats: nothing in it nests deeper than top_rooms' pairs.
  if (deeperThan(o, 3)) return { ok: false, error: "nests deeper than a snapshot does" };
  if (typeof o.id !== "string" || typeof o.version !== "string" || typeof o.draining !== "boolean") return { ok: false, error: "bad id, version or draining" };
  if (o.host !== undefined && (typeof o.host !== "string" || o.host.length > 100)) return { ok: false, error: "bad host" };
  for (const k of ["at", "ttl_ms", "pid", "uptime_s", "connections", "rooms"]) if (!isCount(o[k])) return { ok: false, error: `bad ${k}` };
  const byT = o.connections_by_transport;
  if (typeof byT !== "object" || byT === null || Array.isArray(byT) || !Object.values(byT).every(isCount)) return { ok: false, error: "bad connections_by_transport" };
  if (!Array.isArray(o.top_rooms) || !o.top_rooms.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === "string" && isCount(e[1])))
    return { ok: false, error: "bad top_rooms" };
  const r = o.rates_1m as Record<string, unknown> | null;
  if (typeof r !== "object" || r === null || !isCount(r.events_in_per_s) || !isCount(r.deliveries_per_s)) return { ok: false, error: "bad rates_1m" };
  return { ok: true, value: o as unknown as NodeSnapshot };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Sum this node's live snapshot and the others' stored ones into the cluster view. `entries`
 * may include this node's own stored snapshot: the live one replaces it.
 */
export function summarize(self: NodeSnapshot, entries: NodeEntry[], opts: { now: number; truncated?: boolean; name?: string | null }): ClusterView {
  const nodes: ClusterNode[] = [];
  const snaps: NodeSnapshot[] = [self];
  let unreadable = 0;
  const card = (s: NodeSnapshot, age_s: number, isSelf: boolean): ClusterNode => ({
    id: s.id,
    ...(isSelf ? { self: true as const } : {}),
    age_s,
    version: s.version,
    ...(s.host !== undefined ? { host: s.host } : {}),
    pid: s.pid,
    uptime_s: s.uptime_s,
    draining: s.draining,
    connections: s.connections,
    rooms: s.rooms,
  });
  nodes.push(card(self, 0, true));
  for (const e of entries) {
    if (e.id === self.id) continue;
    const d = decodeSnapshot(e.snapshot);
    if (!d.ok || d.value.id !== e.id) {
      unreadable++;
      continue;
    }
    const s = d.value;
    // Age from Redis's own TTL (no clock skew between nodes); the writer's clock otherwise.
    const ageMs = e.ttlLeftMs >= 0 ? s.ttl_ms - e.ttlLeftMs : opts.now - s.at;
    nodes.push(card(s, Math.max(0, Math.round(ageMs / 100) / 10), false));
    snaps.push(s);
  }
  nodes.sort((a, b) => (a.self ? -1 : b.self ? 1 : a.id < b.id ? -1 : 1));

  const rooms = new Map<string, number>();
  const byTransport: Record<string, number> = {};
  let connections = 0;
  let exact = !opts.truncated;
  const rates = { events_in_per_s: 0, deliveries_per_s: 0 };
  for (const s of snaps) {
    connections += s.connections;
    for (const [t, n] of Object.entries(s.connections_by_transport)) byTransport[t] = (byTransport[t] ?? 0) + n;
    for (const [room, n] of s.top_rooms) rooms.set(room, (rooms.get(room) ?? 0) + n);
    if (s.top_rooms.length < s.rooms) exact = false;
    rates.events_in_per_s += s.rates_1m.events_in_per_s;
    rates.deliveries_per_s += s.rates_1m.deliveries_per_s;
  }
  const view: ClusterView = {
    available: true,
    name: opts.name ?? null,
    nodes,
    node_count: nodes.length,
    connections,
    connections_by_transport: byTransport,
    rooms: rooms.size,
    rooms_exact: exact,
    top_rooms: Object.fromEntries(topRooms(rooms, CLUSTER_TOP_ROOMS)),
    rates_1m: { events_in_per_s: round2(rates.events_in_per_s), deliveries_per_s: round2(rates.deliveries_per_s) },
  };
  if (unreadable > 0) view.unreadable = unreadable;
  return view;
}

export interface ClusterStats {
  /** The cluster view; `available: false` (with why) when Redis cannot answer. */
  view(): Promise<ClusterView>;
  /** Write this node's snapshot now (the timer does it every interval). */
  write(): Promise<void>;
  close(): void;
}

export interface ClusterStatsOptions {
  registry: NodeRegistry;
  intervalMs: number;
  /** This node's live numbers (id, at and ttl_ms are filled in here). */
  snapshot(): Omit<NodeSnapshot, "v" | "id" | "at" | "ttl_ms">;
  log: Logger;
  metrics: Metrics;
  /** --cluster (null: the unnamed cluster), shown in the view and the membership log. */
  clusterName?: string | null;
}

/** One node in a log line: id, and host and pid when its snapshot says. */
export function describeNode(e: NodeEntry): string {
  const d = decodeSnapshot(e.snapshot);
  if (!d.ok) return e.id.slice(0, 40);
  return `${e.id.slice(0, 40)} (${d.value.host ? `${d.value.host}, ` : ""}pid ${d.value.pid})`;
}

export function createClusterStats(o: ClusterStatsOptions): ClusterStats {
  const { registry, log, metrics } = o;
  const ttlMs = o.intervalMs * SNAPSHOT_TTL_FACTOR;
  const live = (): NodeSnapshot => ({ v: 1, id: registry.nodeId, at: Date.now(), ttl_ms: ttlMs, ...o.snapshot() });
  let failing = false;
  let closed = false;
  const name = o.clusterName ?? null;
  const membership = createMembership(registry.nodeId, name === null ? "cluster (unnamed; --cluster names one)" : `cluster ${name}`, describeNode);
  /** Log who is in the cluster: after this node's own snapshot is written, so others see it too. */
  async function lookAround() {
    try {
      for (const line of membership.update(await registry.list(MAX_NODES))) log.info(line);
    } catch (e) {
      log.debug(`cluster membership: cannot list nodes: ${(e as Error).message}`);
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** Write now; false when Redis is not connected (its connection logs that) and nothing was tried. */
  async function write(): Promise<boolean> {
    if (closed) return true;
    if (!registry.ready()) return false;
    try {
      await registry.put(encodeSnapshot(live()), ttlMs);
      if (failing) log.info("cluster stats: this node's snapshot is written to Redis again");
      failing = false;
    } catch (e) {
      metrics.inc("ws_emit_stats_snapshot_errors_total", { op: "write" });
      if (!failing) log.warn(`cluster stats: cannot write this node's snapshot: ${(e as Error).message}`);
      failing = true;
    }
    return true;
  }
  const tick = () => {
    write().then(async (tried) => {
      if (closed) return;
      if (tried && !failing) await lookAround();
      if (closed) return;
      timer = setTimeout(tick, tried ? o.intervalMs : Math.min(o.intervalMs, NOT_READY_RETRY_MS));
      timer.unref?.();
    });
  };
  tick();

  let cached: { at: number; entries: Promise<NodeEntry[]> } | null = null;

  return {
    async view() {
      if (!registry.ready()) return { available: false, name, error: "Redis is not connected" };
      const now = Date.now();
      if (!cached || now - cached.at >= Math.min(READ_CACHE_MS, o.intervalMs)) cached = { at: now, entries: registry.list(MAX_NODES) };
      try {
        const entries = await cached.entries;
        return summarize(live(), entries, { now: Date.now(), truncated: entries.length >= MAX_NODES, name });
      } catch (e) {
        // Counted once per read, not per request sharing it.
        if (cached.at === now) metrics.inc("ws_emit_stats_snapshot_errors_total", { op: "read" });
        return { available: false, name, error: `Redis cannot answer: ${(e as Error).message}` };
      }
    },
    write: async () => void (await write()),
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
