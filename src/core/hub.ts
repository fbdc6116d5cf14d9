/**
 * The hub: rooms as Bun pub/sub topics, one topic per (wire format, namespace, room).
 * A message is encoded once per format that has subscribers in the target room, then
 * `server.publish` copies that one frame to every WebSocket subscriber in native code.
 * Subscribers that are not WebSockets (SSE streams, long-polling sessions) are "sinks"
 * kept in a per-topic set and get the very same frame.
 *
 * A multi-room emit reaches a subscriber of a `once` format (Socket.IO, SSE) through the
 * first of the emit's rooms it is in, and only there: see `deliverOnce`.
 */
import type { Server, ServerWebSocket } from "bun";
import { publishEncoded, sendEncoded, type Encoded } from "./hub-frames.ts";
import type { EmitMessage } from "./message.ts";

export { textOf, type Encoded, type MultiFrame } from "./hub-frames.ts";

/** A wire format: how one message looks to one kind of client. */
export interface Format {
  /** Short id used as topic prefix, e.g. "n" (native), "sio", "sse". */
  readonly id: string;
  /** Encode `msg` as delivered to `room` (null for a broadcast). Called once per room per publish. */
  encode(msg: EmitMessage, room: string | null): Encoded;
  /**
   * A multi-room emit reaches each subscriber once, as Socket.IO's `io.to(a).to(b).emit` does.
   * Formats whose frames name the room (native) leave this off: one frame per room.
   */
  readonly once?: boolean;
}

/** A format whose every message is one text frame (all but Socket.IO). */
export interface TextFormat extends Format {
  encode(msg: EmitMessage, room: string | null): string;
}

/**
 * A subscriber that is not a Bun WebSocket. `send` must not throw and must bound its own
 * buffer. Only formats that make MultiFrames (Socket.IO) hand one to their own sinks.
 */
export interface Sink {
  send(frame: Encoded): void;
}

export type Subscriber = { ws: ServerWebSocket<unknown> } | { sink: Sink };

export interface Hub {
  addFormat(f: Format): void;
  /**
   * Rooms of `format` served without a topic: `resolve(namespace, room)` names the one local
   * subscriber of such a room (a Socket.IO client's own room, its socket id), or undefined.
   * Asked for every room an emit names in that format; keep it a map lookup.
   */
  directRooms(format: string, resolve: (namespace: string, room: string) => Subscriber | undefined): void;
  /** Be told when a room of `format` gains its first or loses its last local subscriber. */
  watchRooms(format: string, fn: (room: string, active: boolean) => void): void;
  /** Be told when a room of any format and namespace gains its first or loses its last local subscriber (rooms held already are reported at once). */
  onRoomChange(fn: (format: string, namespace: string, room: string, active: boolean) => void): void;
  /** Subscribe to a room (or the namespace-wide broadcast topic when room is null). Returns the topic. */
  subscribe(sub: Subscriber, format: string, namespace: string, room: string | null): string;
  unsubscribe(sub: Subscriber, topic: string): void;
  /** Deliver to local subscribers; returns how many subscriptions received it. */
  deliver(msg: EmitMessage): number;
  /** Be shown every message before it is encoded (e.g. to keep a history), subscribers or not. */
  onDeliver(fn: (msg: EmitMessage) => void): void;
  /** Local subscriber count per room (all formats, namespace "/" rooms unprefixed). */
  rooms(): Map<string, number>;
  readonly topicCount: number;
}

export function topicOf(format: string, namespace: string, room: string | null): string {
  // Format ids and namespaces never contain "|"; the room is last, so any room text is unambiguous.
  return `${format}|${namespace}|${room ?? ""}`;
}

/** What the hub publishes through: the Bun server, or every listener while a TLS reload retires one. */
export type Publisher = Pick<Server<unknown>, "publish">;

/**
 * @param onDropped called when Bun dropped a frame for at least one WebSocket subscriber of a
 *   topic (publish returned 0 with subscribers present): with closeOnBackpressureLimit that
 *   subscriber is being closed as too slow.
 * @param opts.countDeliveries sees how many subscriptions each message reached (HTTP, Redis
 *   or any other source), for the deliveries metric; it runs on the hot path: keep it an add.
 * @param opts.wsTopics every live WebSocket with the topics it holds: how an emit with
 *   `except` finds the subscribers of formats that keep no member sets (rare: a linear walk).
 */
export function createHub(
  getServer: () => Publisher | undefined,
  onDropped: (topic: string) => void = () => {},
  opts: { countDeliveries?(n: number): void; wsTopics?(): Iterable<readonly [ServerWebSocket<unknown>, readonly string[] | null]> } = {},
): Hub {
  const formats: Format[] = [];
  const tapped: Array<(msg: EmitMessage) => void> = [];
  const wsCount = new Map<string, number>();
  const sinks = new Map<string, Set<Sink>>();
  /** room key (ns + room) → subscriptions, for stats. */
  const roomCount = new Map<string, number>();
  /**
   * The WebSockets of each topic of a `once` format: Bun cannot tell who is in two topics. Not
   * kept for the other formats (it costs ~0.3 KiB per native connection); `except` finds their
   * subscribers through `opts.wsTopics` instead.
   */
  const members = new Map<string, Set<ServerWebSocket<unknown>>>();
  const onceFormats = new Set<string>();
  /**
   * Format id → how many keys of wsCount and sinks are its topics. A format with none (most
   * deployments use two or three of the eight) costs a publish one lookup instead of a topic
   * string and two. Follows the maps' keys, so it can never disagree with them.
   */
  const topicsPerFormat = new Map<string, number>();
  const countTopic = (topic: string, d: number) => bump(topicsPerFormat, topic.slice(0, topic.indexOf("|")), d);

  const resolvers = new Map<string, (namespace: string, room: string) => Subscriber | undefined>();
  /** A direct room's subscriber, with the WebSocket or sink behind it (what `members` and `sinks` hold). */
  const directTarget = (format: string, ns: string, room: string | null): { sub: Subscriber; key: unknown } | undefined => {
    const sub = room === null || resolvers.size === 0 ? undefined : resolvers.get(format)?.(ns, room);
    return sub === undefined ? undefined : { sub, key: "ws" in sub ? sub.ws : sub.sink };
  };
  const sendTo = (sub: Subscriber, f: Encoded, topic: string) => {
    if (!("ws" in sub)) sub.sink.send(f);
    else if (!sendEncoded(sub.ws, f)) onDropped(topic);
  };
  /** Add every local subscriber of `room` in format `f` (member WebSockets, sinks, direct) to `into`. */
  const addSubscribers = (f: Format, ns: string, room: string, into: Set<unknown>) => {
    const t = topicOf(f.id, ns, room);
    for (const x of members.get(t) ?? []) into.add(x);
    for (const x of sinks.get(t) ?? []) into.add(x);
    const d = directTarget(f.id, ns, room);
    if (d) into.add(d.key);
  };

  const watchers = new Map<string, (room: string, active: boolean) => void>();
  const roomWatchers: Array<(format: string, namespace: string, room: string, active: boolean) => void> = [];
  /** Tell a format's watcher (and every room watcher) about a topic whose total (WebSocket + sink) count crossed 0. */
  const changed = (topic: string, active: boolean) => {
    if (watchers.size === 0 && roomWatchers.length === 0) return;
    const [format, ns, ...rest] = topic.split("|");
    const room = rest.join("|");
    if (room === "") return;
    watchers.get(format!)?.(room, active);
    for (const w of roomWatchers) w(format!, ns!, room, active);
  };
  const total = (topic: string) => (wsCount.get(topic) ?? 0) + (sinks.get(topic)?.size ?? 0);
  const roomKey = (topic: string) => {
    const i = topic.indexOf("|");
    const rest = topic.slice(i + 1);
    return rest.startsWith("/|") ? rest.slice(2) : rest;
  };
  const bump = (map: Map<string, number>, key: string, d: number) => {
    const n = (map.get(key) ?? 0) + d;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  };

  function deliverTopic(topic: string, format: Format, msg: EmitMessage, room: string | null): number {
    const n = wsCount.get(topic) ?? 0;
    const set = sinks.get(topic);
    const direct = directTarget(format.id, msg.namespace, room);
    if (n === 0 && !set && !direct) return 0;
    const f = format.encode(msg, room);
    if (direct) sendTo(direct.sub, f, topic);
    // publish() returns 0/-1 for "dropped for someone": never retry, the rest already have it.
    if (n > 0) {
      const server = getServer();
      if (server && !publishEncoded(server, topic, f)) onDropped(topic);
    }
    if (set) for (const s of set) s.send(f);
    return n + (set?.size ?? 0) + (direct ? 1 : 0);
  }

  /**
   * A multi-room emit in a `once` format: each subscriber gets it through the first of the
   * emit's rooms it is in. The first room with local subscribers goes through Bun's publish as
   * usual; the later rooms are sent one by one to those not reached yet. Left out: `msg.skipRooms`
   * (rooms whose subscribers get this emit from another fan-out message, a multi-room emit
   * split over Redis Cluster shards) and `msg.except` (Socket.IO's `except()`); with anyone to
   * leave out, every room goes one by one. A null room is the namespace broadcast. Linear in
   * the local subscriptions of the emit's rooms.
   */
  function deliverOnce(f: Format, msg: EmitMessage, rooms: ReadonlyArray<string | null>): number {
    const ns = msg.namespace;
    const seen = new Set<unknown>();
    for (const r of msg.skipRooms ?? []) addSubscribers(f, ns, r, seen);
    for (const r of msg.except ?? []) addSubscribers(f, ns, r, seen);
    let bulk: string | null = null;
    /** The direct-room subscriber reached through the bulk room, if any. */
    let bulkDirect: unknown;
    let count = 0;
    for (const room of rooms) {
      const topic = topicOf(f.id, ns, room);
      const ws = members.get(topic);
      const set = sinks.get(topic);
      const d = directTarget(f.id, ns, room);
      if (!ws && !set && !d) continue;
      if (bulk === null && seen.size === 0) {
        bulk = topic;
        bulkDirect = d?.key;
        count += deliverTopic(topic, f, msg, room);
        continue;
      }
      const bulkWs = bulk === null ? undefined : members.get(bulk);
      const bulkSinks = bulk === null ? undefined : sinks.get(bulk);
      let frame: Encoded | undefined;
      if (d && !seen.has(d.key) && d.key !== bulkDirect && !bulkWs?.has(d.key as ServerWebSocket<unknown>) && !bulkSinks?.has(d.key as Sink)) {
        seen.add(d.key);
        sendTo(d.sub, (frame ??= f.encode(msg, room)), topic);
        count++;
      }
      if (ws)
        for (const w of ws) {
          if (seen.has(w) || bulkWs?.has(w) || w === bulkDirect) continue;
          seen.add(w);
          if (!sendEncoded(w, (frame ??= f.encode(msg, room)))) onDropped(topic);
          count++;
        }
      if (set)
        for (const s of set) {
          if (seen.has(s) || bulkSinks?.has(s) || s === bulkDirect) continue;
          seen.add(s);
          s.send((frame ??= f.encode(msg, room)));
          count++;
        }
    }
    return count;
  }

  /**
   * An emit with `except` rooms in a format that keeps no member sets (native, wsify, webdis,
   * wspush): one frame per room, as without `except`, to every subscriber outside the except
   * rooms. Bun cannot list a topic's subscribers, so this walks each WebSocket's own topic
   * list (linear in connections: `except` is rare). Sinks have their per-topic sets.
   */
  function deliverExceptPerRoom(f: Format, msg: EmitMessage): number {
    const ns = msg.namespace;
    const out = new Set<unknown>();
    for (const r of msg.except ?? []) addSubscribers(f, ns, r, out);
    const rooms = msg.rooms ?? [null];
    const roomTopics = rooms.map((r) => topicOf(f.id, ns, r));
    const exceptTopics = new Set((msg.except ?? []).map((r) => topicOf(f.id, ns, r)));
    const frames: Array<Encoded | undefined> = [];
    const frameOf = (i: number) => (frames[i] ??= f.encode(msg, rooms[i] ?? null));
    let count = 0;
    if (roomTopics.some((t) => wsCount.has(t)))
      for (const [w, topics] of opts.wsTopics?.() ?? []) {
        if (!topics || topics.some((t) => exceptTopics.has(t))) continue;
        for (let i = 0; i < rooms.length; i++)
          if (topics.includes(roomTopics[i]!)) {
            if (!sendEncoded(w, frameOf(i))) onDropped(roomTopics[i]!);
            count++;
          }
      }
    for (let i = 0; i < rooms.length; i++)
      for (const s of sinks.get(roomTopics[i]!) ?? []) {
        if (out.has(s)) continue;
        s.send(frameOf(i));
        count++;
      }
    return count;
  }

  return {
    addFormat(f) {
      if (formats.some((x) => x.id === f.id)) throw new Error(`format ${f.id} registered twice`);
      formats.push(f);
      if (f.once) onceFormats.add(f.id);
    },
    directRooms(format, resolve) {
      resolvers.set(format, resolve);
    },
    watchRooms(format, fn) {
      watchers.set(format, fn);
    },
    onRoomChange(fn) {
      roomWatchers.push(fn);
      // A watcher that arrives late (the Redis engine taking over from standalone) learns the rooms already held.
      const seen = new Set<string>();
      for (const topic of [...wsCount.keys(), ...sinks.keys()]) {
        if (seen.has(topic) || total(topic) === 0) continue;
        seen.add(topic);
        const [format, ns, ...rest] = topic.split("|");
        const room = rest.join("|");
        if (room !== "") fn(format!, ns!, room, true);
      }
    },
    subscribe(sub, format, namespace, room) {
      const topic = topicOf(format, namespace, room);
      const before = total(topic);
      if ("ws" in sub) {
        if (sub.ws.isSubscribed(topic)) return topic;
        if (!sub.ws.subscribe(topic)) return topic; // socket already closed
        if (!wsCount.has(topic)) countTopic(topic, 1);
        bump(wsCount, topic, 1);
        if (onceFormats.has(format)) {
          let m = members.get(topic);
          if (!m) members.set(topic, (m = new Set()));
          m.add(sub.ws);
        }
      } else {
        let set = sinks.get(topic);
        if (!set) {
          sinks.set(topic, (set = new Set()));
          countTopic(topic, 1);
        }
        if (set.has(sub.sink)) return topic;
        set.add(sub.sink);
      }
      if (room !== null) bump(roomCount, roomKey(topic), 1);
      if (before === 0 && total(topic) > 0) changed(topic, true);
      return topic;
    },
    unsubscribe(sub, topic) {
      const before = total(topic);
      if ("ws" in sub) {
        // A closed socket is already unsubscribed by Bun; the count still has to drop.
        sub.ws.unsubscribe(topic);
        const had = wsCount.has(topic);
        bump(wsCount, topic, -1);
        const m = members.get(topic);
        if (m?.delete(sub.ws) && m.size === 0) members.delete(topic);
        if (had && !wsCount.has(topic)) countTopic(topic, -1);
      } else {
        const set = sinks.get(topic);
        if (!set?.delete(sub.sink)) return;
        if (set.size === 0) {
          sinks.delete(topic);
          countTopic(topic, -1);
        }
      }
      if (!topic.endsWith("|")) bump(roomCount, roomKey(topic), -1);
      if (before > 0 && total(topic) === 0) changed(topic, false);
    },
    onDeliver(fn) {
      tapped.push(fn);
    },
    deliver(msg) {
      for (const fn of tapped) fn(msg);
      let count = 0;
      for (const f of formats) {
        if (msg.only && !msg.only.includes(f.id)) continue;
        if (!topicsPerFormat.has(f.id)) continue;
        // Encoded only for a topic with subscribers (deliverTopic), once per room.
        if (msg.except) {
          count += f.once ? deliverOnce(f, msg, msg.rooms ?? [null]) : deliverExceptPerRoom(f, msg);
        } else if (msg.rooms === null) {
          count += deliverTopic(topicOf(f.id, msg.namespace, null), f, msg, null);
        } else if (f.once && (msg.rooms.length > 1 || msg.skipRooms)) {
          count += deliverOnce(f, msg, msg.rooms);
        } else {
          for (const room of msg.rooms) count += deliverTopic(topicOf(f.id, msg.namespace, room), f, msg, room);
        }
      }
      opts.countDeliveries?.(count);
      return count;
    },
    rooms: () => new Map(roomCount),
    get topicCount() {
      return wsCount.size + sinks.size;
    },
  };
}
