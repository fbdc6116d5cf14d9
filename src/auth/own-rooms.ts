/**
 * Per-connection rooms. As with python-socketio (and so Flask-SocketIO), every Socket.IO
 * client is in a room named by its socket id, so a backend can emit to that one client
 * (`emit(..., to=sid)`, or `"room": sid` on any ingest). No client may join another client's
 * such room (PROTOCOLS.md §1): a join naming a live socket id of this process is refused.
 * Socket ids are 120 random bits, so one from another node cannot be guessed either.
 */
const live = new Map<string, () => void>();
const key = (ns: string, room: string) => `${ns}\u0000${room}`;

/** `disconnect` ends that client's connection to `ns` (python-socketio's `disconnect(sid)`). */
export function reserveOwnRoom(ns: string, room: string, disconnect: () => void): void {
  live.set(key(ns, room), disconnect);
}

export function releaseOwnRoom(ns: string, room: string): void {
  live.delete(key(ns, room));
}

/** Is `room` of namespace `ns` some connected client's own room? */
export function isOwnRoom(ns: string, room: string): boolean {
  return live.size > 0 && live.has(key(ns, room));
}

/** Disconnect the client whose socket id is `sid` in `ns`, if it is connected here. */
export function disconnectOwner(ns: string, sid: string): boolean {
  const fn = live.get(key(ns, sid));
  fn?.();
  return fn !== undefined;
}

/** Is this key of `hub.rooms()` ("room" for namespace "/", "/ns|room" otherwise) a client's own room? */
export function isOwnRoomKey(k: string): boolean {
  if (live.size === 0) return false;
  if (live.has(key("/", k))) return true;
  const bar = k.indexOf("|");
  return k.startsWith("/") && bar > 0 && live.has(key(k.slice(0, bar), k.slice(bar + 1)));
}
