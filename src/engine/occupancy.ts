/**
 * Occupancy and presence: counts every room's local subscribers (and, in presence rooms, its
 * members by token `sub`) as connections join and leave on any transport, and writes the
 * changes in batches (every ≤ 200 ms, off the hot path) to a store that keeps the whole
 * cluster's totals (occupancy-redis.ts; occupancy-memory.ts for one node). The store reports
 * the cluster-wide transitions a batch caused (a room's first subscriber anywhere → one
 * room_occupied); they are counted, turned into `presence` notices, and the store queues
 * them for the lifecycle webhooks in the same atomic step.
 */
import type { Hub } from "../core/hub.ts";
import { onMembership, type Conn } from "../core/connection.ts";
import type { EmitMessage } from "../core/message.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";

export type TransitionType = "room_occupied" | "room_vacated" | "member_added" | "member_removed";
export interface Transition {
  type: TransitionType;
  /** Room key (roomKeyOf). */
  room: string;
  sub?: string;
}

export interface RoomCount {
  room: string;
  subscribers: number;
}

export interface Page<T> {
  items: T[];
  /** "0" when this was the last page. */
  cursor: string;
}

/** Where the cluster's counts live. Counts sent are absolute local values (0 = none left). */
export interface OccupancyStore {
  /**
   * Write this node's new local counts. `lost`: the store had taken this node's contributions
   * out (it looked dead): send every local count again.
   */
  apply(rooms: Array<[string, number]>, members: Array<[string, string, number]>): Promise<{ transitions: Transition[]; lost: boolean }>;
  room(key: string): Promise<{ subscribers: number; nodes: number }>;
  /** Occupied rooms whose key starts with `prefix`, a page at a time. */
  list(prefix: string, cursor: string, count: number): Promise<Page<RoomCount>>;
  members(key: string, cursor: string, count: number): Promise<Page<string>>;
  /** Take out the contributions of nodes that stopped refreshing their liveness: how many, and the transitions that caused. */
  reap(): Promise<{ nodes: number; transitions: Transition[] }>;
  /** Take this node's contributions out now (shutdown). */
  close(): Promise<void>;
}

/** Between a namespace and a room in a key: a control character, which no room name may hold. */
const NS_SEP = "\x01";

/** Room key: the room for namespace "/" (native, SSE and Socket.IO's default share it), "/ns\x01room" otherwise. */
export function roomKeyOf(ns: string, room: string): string {
  return ns === "/" ? room : `${ns}${NS_SEP}${room}`;
}

/** The inverse of roomKeyOf. */
export function splitRoomKey(key: string): { ns: string; room: string } {
  const i = key.indexOf(NS_SEP);
  return i < 0 ? { ns: "/", room: key } : { ns: key.slice(0, i), room: key.slice(i + 1) };
}

/** Longest `sub` tracked as a member; longer ones are counted in occupancy only. */
export const MAX_SUB_LENGTH = 256;
export const FLUSH_MS = 200;

export interface Occupancy {
  readonly store: OccupancyStore;
  isPresenceRoom(key: string): boolean;
  /** Local subscribers of a room (tests, /stats). */
  local(key: string): number;
  /** Write pending changes now (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface OccupancyDeps {
  hub: Hub;
  store: OccupancyStore;
  log: Logger;
  metrics: Metrics;
  presenceRoomspaces: string[];
  /** Push `presence` notices (null: off). Called on the node that caused the transition, so once per cluster. */
  notify: ((msg: EmitMessage) => void) | null;
  /** How often to refresh liveness and look for dead nodes. */
  livenessMs: number;
}

export function createOccupancy(d: OccupancyDeps): Occupancy {
  const spaces = new Set(d.presenceRoomspaces);
  const isPresenceRoom = (key: string) => {
    const { room } = splitRoomKey(key);
    const i = room.indexOf("::");
    return i > 0 && spaces.has(room.slice(0, i));
  };
  const local = new Map<string, number>();
  /** room key → sub → local connections of that member. */
  const members = new Map<string, Map<string, number>>();
  const dirtyRooms = new Set<string>();
  /** [room key, sub] pairs, keyed "room\0sub" so each is sent once per batch. */
  const dirtyMembers = new Map<string, [string, string]>();
  let resendAll = false;
  /**
   * The presence rooms each connection is counted in as a member, and as whom: a leave takes out
   * exactly what its join put in, even when the connection got its `sub` between the two (a
   * presence room joined with the secret, then another with a token). Only for such connections.
   */
  const counted = new WeakMap<Conn, { sub: string; keys: string[] }>();

  onMembership(d.hub, (conn: Conn, ns, room, delta) => {
    const key = roomKeyOf(ns, room);
    const n = (local.get(key) ?? 0) + delta;
    if (n <= 0) local.delete(key);
    else local.set(key, n);
    dirtyRooms.add(key);
    if (spaces.size === 0) return;
    let sub: string;
    if (delta > 0) {
      if (conn.sub === null || conn.sub.length > MAX_SUB_LENGTH || !isPresenceRoom(key)) return;
      const c = counted.get(conn);
      sub = c?.sub ?? conn.sub;
      if (c) c.keys.push(key);
      else counted.set(conn, { sub, keys: [key] });
    } else {
      const c = counted.get(conn);
      const i = c ? c.keys.indexOf(key) : -1;
      if (i < 0) return;
      c!.keys.splice(i, 1);
      sub = c!.sub;
    }
    let m = members.get(key);
    if (!m) members.set(key, (m = new Map()));
    const c = (m.get(sub) ?? 0) + delta;
    if (c <= 0) m.delete(sub);
    else m.set(sub, c);
    if (m.size === 0) members.delete(key);
    dirtyMembers.set(`${key}\0${sub}`, [key, sub]);
  });

  let inflight: Promise<void> | null = null;
  let lastWrite = 0;
  const flushOnce = async () => {
    const refresh = Date.now() - lastWrite >= d.livenessMs / 3;
    if (!resendAll && dirtyRooms.size === 0 && dirtyMembers.size === 0 && !refresh) return;
    const full = resendAll;
    resendAll = false;
    const roomKeys = full ? new Set([...local.keys(), ...dirtyRooms]) : new Set(dirtyRooms);
    const memberPairs = full ? new Map(dirtyMembers) : new Map(dirtyMembers);
    if (full) for (const [key, m] of members) for (const sub of m.keys()) memberPairs.set(`${key}\0${sub}`, [key, sub]);
    dirtyRooms.clear();
    dirtyMembers.clear();
    const rooms: Array<[string, number]> = [...roomKeys].map((k) => [k, local.get(k) ?? 0]);
    const mem: Array<[string, string, number]> = [...memberPairs.values()].map(([k, s]) => [k, s, members.get(k)?.get(s) ?? 0]);
    try {
      const r = await d.store.apply(rooms, mem);
      lastWrite = Date.now();
      d.metrics.inc("ws_emit_occupancy_flushes_total", { result: "ok" });
      if (r.lost) {
        d.log.warn("occupancy: this node's counts had been taken out of the cluster totals (it looked dead); sending them again");
        resendAll = true;
      }
      for (const t of r.transitions) transition(t);
    } catch (e) {
      // Not written: send these again with the next batch (counts are absolute, so a resend is harmless).
      for (const k of roomKeys) dirtyRooms.add(k);
      for (const [k, p] of memberPairs) dirtyMembers.set(k, p);
      d.metrics.inc("ws_emit_occupancy_flushes_total", { result: "error" });
      d.log.debug(`occupancy: batch not written: ${(e as Error).message}`);
    }
  };
  const flush = () => (inflight ??= flushOnce().finally(() => (inflight = null)));

  function transition(t: Transition) {
    d.metrics.inc("ws_emit_occupancy_transitions_total", { type: t.type });
    if (!d.notify || t.sub === undefined) return;
    const { ns, room } = splitRoomKey(t.room);
    d.notify({ event: "presence", args: [{ type: t.type === "member_added" ? "join" : "leave", sub: t.sub }], namespace: ns, rooms: [room] });
  }

  const flushTimer = setInterval(() => void flush(), FLUSH_MS);
  let reaping = false;
  const reapTimer = setInterval(() => {
    if (reaping) return;
    reaping = true;
    d.store
      .reap()
      .then((r) => {
        if (r.nodes === 0) return;
        d.metrics.inc("ws_emit_occupancy_reaped_nodes_total", undefined, r.nodes);
        d.log.info(`occupancy: took out ${r.nodes} dead node(s)' subscribers (${r.transitions.length} transitions)`);
        for (const t of r.transitions) transition(t);
      })
      .catch((e) => d.log.debug(`occupancy: reap failed: ${(e as Error).message}`))
      .finally(() => (reaping = false));
  }, Math.max(250, Math.floor(d.livenessMs / 4)));

  return {
    store: d.store,
    isPresenceRoom,
    local: (key) => local.get(key) ?? 0,
    flush: async () => {
      await inflight;
      await flush();
    },
    async close() {
      clearInterval(flushTimer);
      clearInterval(reapTimer);
      await inflight;
      await flush(); // the leaves of the drain (one node: this is the last word on them)
      await d.store.close();
    },
  };
}
