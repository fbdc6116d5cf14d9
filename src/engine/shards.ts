/**
 * Fan-out channel names and the room → partition map. Pure.
 *
 * Rooms map to a fixed number of partitions (`--redis-partitions`), k = hash(namespace|room)
 * mod P; partition k is the channel `<prefix>:fanout:p<k>` on one Redis, the sharded channel
 * `{<prefix>:fanout:p<k>}` on Redis Cluster (the hash tag pins each to one slot, so one
 * SSUBSCRIBE per channel is legal, and the slots spread over the masters). A node listens to
 * a partition only while it has a local subscriber in one of its rooms (./interest.ts).
 * Namespace-wide broadcasts go to `<prefix>:fanout` (`{<prefix>:fanout}`), which every node
 * holds. A room always maps to the same channel, which keeps the events of one room from one
 * publisher in order.
 */
import type { EmitMessage } from "../core/message.ts";

export function singleChannel(prefix: string): string {
  return `${prefix}:fanout`;
}

/** The channel every node holds: namespace-wide broadcasts (and canaries). */
export function broadcastChannel(prefix: string, cluster: boolean): string {
  return cluster ? `{${prefix}:fanout}` : `${prefix}:fanout`;
}

/** The channel of partition k. */
export function partitionChannel(prefix: string, k: number, cluster: boolean): string {
  return cluster ? `{${prefix}:fanout:p${k}}` : `${prefix}:fanout:p${k}`;
}

export function shardChannels(prefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, k) => `{${prefix}:fanout:${k}}`);
}

/** FNV-1a over UTF-16 code units: stable across processes and versions, cheap. */
export function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Which shard carries this room (or, for a namespace-wide broadcast, this namespace)?
 * Rooms of different namespaces are different rooms, so the namespace is part of the key.
 */
export function shardOf(namespace: string, room: string | null, shards: number): number {
  return hashKey(room === null ? `ns|${namespace}` : `${namespace}|${room}`) % shards;
}

/** Split a message's rooms by shard: one publish per shard keeps each room on its channel. */
export function groupRooms(namespace: string, rooms: string[], shards: number): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of rooms) {
    const k = shardOf(namespace, r, shards);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/**
 * A multi-room emit as one message per shard. Each part after the first carries, as
 * `skipRooms`, the rooms of the parts before it: a subscriber in rooms of several parts gets
 * the emit from the first of them only (formats that deliver once, hub `Format.once`).
 */
export function splitByShard(msg: EmitMessage, rooms: string[], shards: number): Array<[number, EmitMessage]> {
  const groups = [...groupRooms(msg.namespace, rooms, shards)];
  if (groups.length === 1) return [[groups[0]![0], msg]];
  const before = [...(msg.skipRooms ?? [])];
  return groups.map(([k, part]) => {
    const m: EmitMessage = { ...msg, rooms: part };
    if (before.length > 0) m.skipRooms = [...before];
    before.push(...part);
    return [k, m];
  });
}
