/**
 * Per-connection state shared by every transport, plus the join/leave bookkeeping
 * that turns rooms into hub topics.
 */
import { topicOf, type Hub, type Subscriber } from "./hub.ts";

export type Transport = "native" | "socketio" | "sse" | "polling" | "wsify" | "webdis" | "wspush";

/** Fixed one-minute window counter; `hit()` returns true once the limit is exceeded. */
export interface RateWindow {
  hit(): boolean;
}
export function createRateWindow(perMinute: number, now: () => number = Date.now): RateWindow {
  let start = now();
  let n = 0;
  return {
    hit() {
      const t = now();
      if (t - start >= 60_000) {
        start = t;
        n = 0;
      }
      n++;
      return n > perMinute;
    },
  };
}

export interface Conn {
  id: string;
  transport: Transport;
  ip: string;
  /** Joined rooms per namespace ("/" for native and SSE). */
  rooms: Map<string, Set<string>>;
  /** Hub topics this connection holds, to release on close. */
  topics: Set<string>;
  lastSeen: number;
  joinFailures: RateWindow;
  badFrames: RateWindow;
  closed: boolean;
}

let seq = 0;
const NODE_TAG = crypto.randomUUID().slice(0, 8);
export function newConnId(): string {
  return `${NODE_TAG}-${(++seq).toString(36)}`;
}

export function createConn(transport: Transport, ip: string, limits: { joinFailuresPerMinute: number; badFramesPerMinute: number }): Conn {
  return {
    id: newConnId(),
    transport,
    ip,
    rooms: new Map(),
    topics: new Set(),
    lastSeen: Date.now(),
    joinFailures: createRateWindow(limits.joinFailuresPerMinute),
    badFrames: createRateWindow(limits.badFramesPerMinute),
    closed: false,
  };
}

export function roomCount(conn: Conn): number {
  let n = 0;
  for (const s of conn.rooms.values()) n += s.size;
  return n;
}

/** Add a room subscription; false when the per-connection cap is reached. */
export function joinRoom(hub: Hub, conn: Conn, sub: Subscriber, format: string, ns: string, room: string, maxRooms: number): boolean {
  let set = conn.rooms.get(ns);
  if (set?.has(room)) return true;
  if (roomCount(conn) >= maxRooms) return false;
  if (!set) conn.rooms.set(ns, (set = new Set()));
  set.add(room);
  conn.topics.add(hub.subscribe(sub, format, ns, room));
  return true;
}

/** Remove a room subscription; false when the connection was not in it. */
export function leaveRoom(hub: Hub, conn: Conn, sub: Subscriber, format: string, ns: string, room: string): boolean {
  const set = conn.rooms.get(ns);
  if (!set?.delete(room)) return false;
  const topic = topicOf(format, ns, room);
  if (conn.topics.delete(topic)) hub.unsubscribe(sub, topic);
  return true;
}

/** Subscribe to a namespace's broadcast topic (emits with no room). */
export function joinBroadcast(hub: Hub, conn: Conn, sub: Subscriber, format: string, ns: string): void {
  conn.topics.add(hub.subscribe(sub, format, ns, null));
}

/** Release every topic; call once when the connection ends. */
export function releaseConn(hub: Hub, conn: Conn, sub: Subscriber): void {
  if (conn.closed) return;
  conn.closed = true;
  for (const t of conn.topics) hub.unsubscribe(sub, t);
  conn.topics.clear();
  conn.rooms.clear();
}

/** Drop every subscription but keep the connection open (a transport switch on /ws). */
export function resetConn(hub: Hub, conn: Conn, sub: Subscriber): void {
  for (const t of conn.topics) hub.unsubscribe(sub, t);
  conn.topics.clear();
  conn.rooms.clear();
}
