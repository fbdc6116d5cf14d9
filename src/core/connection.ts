/**
 * Per-connection state shared by every transport, plus the join/leave bookkeeping
 * that turns rooms into hub topics.
 *
 * A server holds one Conn per client for hours, so it is kept small (idle memory per
 * connection is a target of issue 6): plain fields, no closures, no Map or Set (a JSC
 * Map/Set costs ~300 bytes even when empty), nothing allocated until it is needed.
 */
import { topicOf, type Hub, type Subscriber } from "./hub.ts";

export type Transport = "native" | "socketio" | "sse" | "polling" | "wsify" | "webdis" | "wspush";

/** A fixed one-minute window counter (flood limits). */
export interface RateWindow {
  start: number;
  n: number;
}

/** Count one event at `now`; true once more than `perMinute` fell in the current minute. Pure. */
export function hitWindow(w: RateWindow, perMinute: number, now: number): boolean {
  if (now - w.start >= 60_000) {
    w.start = now;
    w.n = 0;
  }
  w.n++;
  return w.n > perMinute;
}

/** Flood limits; every connection points at the one config object. */
export interface ConnLimits {
  joinFailuresPerMinute: number;
  badFramesPerMinute: number;
}

export interface Conn {
  transport: Transport;
  ip: string;
  /**
   * Hub topics this connection holds, in the order joined: the namespaces' broadcast topics
   * and one per joined room (see topicOf). The joined rooms are read back from it (roomsOf).
   * null until the first subscription.
   */
  topics: string[] | null;
  lastSeen: number;
  openedAt: number;
  limits: ConnLimits;
  /** Flood windows, created on the first failure (most connections never have one). */
  joinFailures: RateWindow | null;
  badFrames: RateWindow | null;
  closed: boolean;
  /** The signed token's subject (user id) from the first join that had one: presence identity. */
  sub: string | null;
}

export function createConn(transport: Transport, ip: string, limits: ConnLimits): Conn {
  const now = Date.now();
  return { transport, ip, topics: null, lastSeen: now, openedAt: now, limits, joinFailures: null, badFrames: null, closed: false, sub: null };
}

/** Count a refused join; true once more than --max-join-failures happened this minute (close the connection). */
export function countJoinFailure(conn: Conn): boolean {
  return hitWindow((conn.joinFailures ??= { start: conn.openedAt, n: 0 }), conn.limits.joinFailuresPerMinute, Date.now());
}

/** Count a malformed frame; true once more than --max-bad-frames happened this minute (close the connection). */
export function countBadFrame(conn: Conn): boolean {
  return hitWindow((conn.badFrames ??= { start: conn.openedAt, n: 0 }), conn.limits.badFramesPerMinute, Date.now());
}

/** `format|namespace|room` (topicOf) → namespace and room ("" for a broadcast topic). */
function splitTopic(topic: string): { ns: string; room: string } {
  const i = topic.indexOf("|");
  const j = topic.indexOf("|", i + 1);
  return { ns: topic.slice(i + 1, j), room: topic.slice(j + 1) };
}

/** Rooms are never empty, so a topic ending in "|" is a namespace's broadcast topic. */
const isRoomTopic = (topic: string) => !topic.endsWith("|");

export function roomCount(conn: Conn): number {
  let n = 0;
  for (const t of conn.topics ?? []) if (isRoomTopic(t)) n++;
  return n;
}

/** The rooms joined in namespace `ns`, in the order joined. */
export function roomsOf(conn: Conn, ns: string): string[] {
  const out: string[] = [];
  for (const t of conn.topics ?? []) {
    const s = splitTopic(t);
    if (s.room !== "" && s.ns === ns) out.push(s.room);
  }
  return out;
}

/** The namespaces and rooms behind the topics held: what to subscribe again on another subscriber. */
export function subscriptionsOf(conn: Conn): Array<{ ns: string; room: string | null }> {
  return (conn.topics ?? []).map((t) => {
    const s = splitTopic(t);
    return { ns: s.ns, room: s.room === "" ? null : s.room };
  });
}

function hold(conn: Conn, topic: string): void {
  if (conn.topics === null) conn.topics = [topic];
  else if (!conn.topics.includes(topic)) conn.topics.push(topic);
}

// --- presence (issue 15): told of every room a connection enters or leaves, on any transport ---
/** Called once per room a connection gains (+1) or loses (-1); src/engine/occupancy.ts counts them. */
export type MembershipHook = (conn: Conn, ns: string, room: string, delta: 1 | -1) => void;
const membershipHooks = new WeakMap<Hub, MembershipHook>();
/** Be told of every room join and leave of connections on this hub. */
export function onMembership(hub: Hub, fn: MembershipHook): void {
  membershipHooks.set(hub, fn);
}
function membership(hub: Hub, conn: Conn, topic: string, delta: 1 | -1): void {
  const fn = membershipHooks.get(hub);
  if (!fn || !isRoomTopic(topic)) return;
  const s = splitTopic(topic);
  fn(conn, s.ns, s.room, delta);
}
// --- end presence ---

/** Add a room subscription; false when the per-connection cap is reached. */
export function joinRoom(hub: Hub, conn: Conn, sub: Subscriber, format: string, ns: string, room: string, maxRooms: number): boolean {
  if (conn.topics?.includes(topicOf(format, ns, room))) return true;
  if (roomCount(conn) >= maxRooms) return false;
  const topic = hub.subscribe(sub, format, ns, room);
  hold(conn, topic);
  membership(hub, conn, topic, 1); // presence (issue 15)
  return true;
}

/** Remove a room subscription; false when the connection was not in it. */
export function leaveRoom(hub: Hub, conn: Conn, sub: Subscriber, format: string, ns: string, room: string): boolean {
  return dropTopic(hub, conn, sub, topicOf(format, ns, room));
}

/** Release one topic the connection holds; false when it did not hold it. */
export function dropTopic(hub: Hub, conn: Conn, sub: Subscriber, topic: string): boolean {
  const i = conn.topics?.indexOf(topic) ?? -1;
  if (i < 0) return false;
  conn.topics!.splice(i, 1);
  hub.unsubscribe(sub, topic);
  membership(hub, conn, topic, -1); // presence (issue 15)
  return true;
}

/** Subscribe to a namespace's broadcast topic (emits with no room). */
export function joinBroadcast(hub: Hub, conn: Conn, sub: Subscriber, format: string, ns: string): void {
  hold(conn, hub.subscribe(sub, format, ns, null));
}

/** Release every topic; call once when the connection ends. */
export function releaseConn(hub: Hub, conn: Conn, sub: Subscriber): void {
  if (conn.closed) return;
  conn.closed = true;
  resetConn(hub, conn, sub);
}

/** Drop every subscription but keep the connection open (a transport switch on /ws). */
export function resetConn(hub: Hub, conn: Conn, sub: Subscriber): void {
  const topics = conn.topics;
  conn.topics = null;
  for (const t of topics ?? []) {
    hub.unsubscribe(sub, t);
    membership(hub, conn, t, -1); // presence (issue 15)
  }
}
