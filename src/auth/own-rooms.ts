/**
 * Per-connection rooms. As with python-socketio (and so Flask-SocketIO), every Socket.IO
 * client is in a room named by its socket id, so a backend can emit to that one client
 * (`emit(..., to=sid)`, or `"room": sid` on any ingest). No client may join another client's
 * such room (PROTOCOLS.md §1): a join naming a live socket id of this process is refused.
 *
 * Other nodes (and workers) do not know this node's clients, so a socket id also proves
 * itself: 120 random bits followed by 24 bits of SHA-256 over them (24 base64url characters).
 * Any node refuses a join to a room of that shape (`isSocketIdShaped`), whoever owns it; an
 * unrelated room name has that shape by chance once in 2^24 names of exactly 24 such
 * characters. Backends may still emit to such a room and `enter_room` a client into one.
 */
import { createHash } from "node:crypto";
import type { Subscriber } from "../core/hub.ts";

const ID_RANDOM_BYTES = 15;
const ID_TAG_BYTES = 3;
const ID_LENGTH = ((ID_RANDOM_BYTES + ID_TAG_BYTES) / 3) * 4;
const ID_CHARS = /^[A-Za-z0-9_-]+$/;
const ID_CONTEXT = "ws-emit socket id\n";

function idTag(random: Uint8Array): Buffer {
  return createHash("sha256").update(ID_CONTEXT).update(random).digest().subarray(0, ID_TAG_BYTES);
}

/** A new Socket.IO socket id: random bits plus their tag, base64url. */
export function newSocketId(): string {
  const random = crypto.getRandomValues(new Uint8Array(ID_RANDOM_BYTES));
  return Buffer.concat([random, idTag(random)]).toString("base64url");
}

/** Is `room` shaped like a ws-emit socket id (of any node)? */
export function isSocketIdShaped(room: string): boolean {
  if (room.length !== ID_LENGTH || !ID_CHARS.test(room)) return false;
  const b = Buffer.from(room, "base64url");
  return b.length === ID_RANDOM_BYTES + ID_TAG_BYTES && idTag(b.subarray(0, ID_RANDOM_BYTES)).equals(b.subarray(ID_RANDOM_BYTES));
}
/**
 * What a backend may do to one connected Socket.IO client over the message queue, as
 * python-socketio's `disconnect(sid)`, `enter_room(sid, room)` and `leave_room(sid, room)`.
 */
export interface OwnRoomOwner {
  /**
   * Where an emit to this room goes: the client's WebSocket, or its long-polling sink. Own
   * rooms are not hub topics (a topic and its member set per client cost ~1.8 KiB); the hub
   * asks here instead (`Hub.directRooms`).
   */
  target(): Subscriber;
  disconnect(): void;
  /** Join `room` of this namespace; false when the client holds --max-rooms already. */
  enter(room: string): boolean;
  leave(room: string): void;
}

const live = new Map<string, OwnRoomOwner>();
const key = (ns: string, room: string) => `${ns}\u0000${room}`;

/** Told when an own room appears or goes (the Redis engine listens to its partition meanwhile). */
const watchers = new Set<(ns: string, room: string, active: boolean) => void>();

export function watchOwnRooms(fn: (ns: string, room: string, active: boolean) => void): () => void {
  watchers.add(fn);
  return () => void watchers.delete(fn);
}

export function reserveOwnRoom(ns: string, room: string, owner: OwnRoomOwner): void {
  const k = key(ns, room);
  const fresh = !live.has(k);
  live.set(k, owner);
  if (fresh) for (const w of watchers) w(ns, room, true);
}

export function releaseOwnRoom(ns: string, room: string): void {
  if (live.delete(key(ns, room))) for (const w of watchers) w(ns, room, false);
}

/** Is `room` of namespace `ns` some connected client's own room? */
export function isOwnRoom(ns: string, room: string): boolean {
  return live.size > 0 && live.has(key(ns, room));
}

/** The client whose socket id is `sid` in `ns`, if it is connected to this process. */
export function ownerOf(ns: string, sid: string): OwnRoomOwner | undefined {
  return live.get(key(ns, sid));
}

/** Disconnect the client whose socket id is `sid` in `ns`, if it is connected here. */
export function disconnectOwner(ns: string, sid: string): boolean {
  const o = live.get(key(ns, sid));
  o?.disconnect();
  return o !== undefined;
}

/**
 * python-socketio's `close_room(room, ns)`: every Socket.IO client of `ns` connected here leaves
 * `room`. Linear in the connected clients; a rare, backend-initiated operation.
 */
export function closeRoomForOwners(ns: string, room: string): number {
  const prefix = `${ns}\u0000`;
  const owners: OwnRoomOwner[] = [];
  for (const [k, o] of live) if (k.startsWith(prefix)) owners.push(o);
  for (const o of owners) o.leave(room);
  return owners.length;
}

/** Is this key of `hub.rooms()` ("room" for namespace "/", "/ns|room" otherwise) a client's own room? */
export function isOwnRoomKey(k: string): boolean {
  if (live.size === 0) return false;
  if (live.has(key("/", k))) return true;
  const bar = k.indexOf("|");
  return k.startsWith("/") && bar > 0 && live.has(key(k.slice(0, bar), k.slice(bar + 1)));
}
