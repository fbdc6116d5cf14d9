/**
 * Per-connection rooms. As with python-socketio (and so Flask-SocketIO), every Socket.IO
 * client is in a room named by its socket id, so a backend can emit to that one client
 * (`emit(..., to=sid)`, or `"room": sid` on any ingest). No client may join another client's
 * such room (PROTOCOLS.md §1): a join naming a live socket id of this process is refused.
 * Socket ids are 120 random bits, so one from another node cannot be guessed either.
 */
/**
 * What a backend may do to one connected Socket.IO client over the message queue, as
 * python-socketio's `disconnect(sid)`, `enter_room(sid, room)` and `leave_room(sid, room)`.
 */
export interface OwnRoomOwner {
  disconnect(): void;
  /** Join `room` of this namespace; false when the client holds --max-rooms already. */
  enter(room: string): boolean;
  leave(room: string): void;
}

const live = new Map<string, OwnRoomOwner>();
const key = (ns: string, room: string) => `${ns}\u0000${room}`;

export function reserveOwnRoom(ns: string, room: string, owner: OwnRoomOwner): void {
  live.set(key(ns, room), owner);
}

export function releaseOwnRoom(ns: string, room: string): void {
  live.delete(key(ns, room));
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
