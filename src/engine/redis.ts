/**
 * The Redis engine: many ws-emit nodes on one Redis (or Redis Cluster) act as one service.
 *
 * publish: deliver locally at once, then PUBLISH (SPUBLISH on a cluster) to the other nodes,
 * tagged with this node's id; every node delivers what other nodes sent and skips its own,
 * so each subscriber gets an emit exactly once. One command connection (auto-pipelined)
 * keeps the events of one publisher in order.
 *
 * Interest: a room emit goes to its room's partition channel (./shards.ts), which only nodes
 * with a local subscriber in one of that partition's rooms hold (./interest.ts); a join waits
 * until its partition is subscribed (`prepareJoin`), so nothing published after the join
 * reply is lost. A multi-room emit spanning partitions is one message per partition, each
 * later part skipping the rooms of the parts before it, so a client in rooms of several
 * partitions still gets it once. Broadcasts (no room) use the channel every node holds.
 *
 * Redis pub/sub is at-most-once: what is published while a subscriber reconnects is lost for
 * that node. A subscription can also die silently, so each node sends itself a canary through
 * every channel it holds; one that does not come back marks the node unready, counts, and
 * forces a fresh subscription.
 */
import type { Config } from "../core/config.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../ops/log.ts";
import type { EmitMessage } from "../core/message.ts";
import type { Metrics } from "../ops/metrics.ts";
import { createBoundary, type Boundary } from "../ops/boundary.ts";
import { decodeFanout, encodeCanary, encodeEmit } from "./fanout-codec.ts";
import { createNodeRegistry } from "./node-registry.ts";
import { createRedisLink } from "./redis-link.ts";
import { parseRedisTarget, redact } from "../core/redis-url.ts";
import { createSecretCache } from "./secret-cache.ts";
import { broadcastChannel, partitionChannel, shardOf, splitByShard } from "./shards.ts";
import { createInterest } from "./interest.ts";
import { watchOwnRooms } from "../auth/own-rooms.ts";
import { EngineUnavailable, type Engine } from "./types.ts";

export interface RedisEngineDeps {
  url: string;
  config: Config;
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  /** The process's error boundary: a fan-out message that throws is dropped, counted and logged, never fatal. */
  boundary?: Boundary;
}

export function createRedisEngine({ url, config, hub, log, metrics, boundary = createBoundary(log, metrics) }: RedisEngineDeps): Engine {
  const parsed = parseRedisTarget(url);
  if (!parsed.ok) throw new Error(parsed.error);
  const target = parsed.value;
  const sharded = target.kind === "cluster";
  const partitions = config.redisPartitions;
  const bcast = broadcastChannel(config.redisPrefix, sharded);
  const partitionChannels = Array.from({ length: partitions }, (_, k) => partitionChannel(config.redisPrefix, k, sharded));
  const channelOf = (ns: string, room: string) => partitionChannels[shardOf(ns, room, partitions)]!;
  const nodeId = crypto.randomUUID().replace(/-/g, "").slice(0, 12);
  log.info(`redis engine: ${redact(url)} (${sharded ? "cluster, sharded channels" : "one Redis"}: broadcasts on ${bcast}, rooms on ${partitions} partition channels ${partitionChannels[0]}…), node ${nodeId}`);

  let closed = false;
  let subscribed = false;
  let unsubscribedSince = Date.now();
  /** Set when a full canary round came back; cleared by a missed canary or a lost subscription. */
  let healthy = false;
  let seq = 0;
  /** Canary seq per channel still awaited, and when it was sent. */
  const pending = new Map<string, number>();
  let roundSentAt = 0;
  let checkTimer: Timer | undefined;
  const canaryTimeoutMs = Math.min(config.redisCanaryTimeoutMs, config.redisCanaryMs);

  function setHealthy(h: boolean, why: string) {
    if (h === healthy) return;
    healthy = h;
    if (h) log.info(`redis fan-out healthy (${why})`);
    else log.warn(`redis fan-out unhealthy: ${why}`);
  }

  const receivedBytes = metrics.counter("ws_emit_fanout_received_bytes_total");
  const received = metrics.counter("ws_emit_fanout_received_total");
  metrics.collect(() => metrics.set("ws_emit_redis_channels_held", interest.held().length));

  /** Runs inside ioredis's parser callback: an exception there must go no further than this message. */
  function onMessage(channel: string, text: string) {
    boundary.guard("ws-emit:fanout", () => onFanout(channel, text));
  }

  function onFanout(channel: string, text: string) {
    received.inc();
    receivedBytes.inc(text.length);
    const f = decodeFanout(text);
    if (!f.ok) {
      metrics.inc("ws_emit_events_invalid_total", { source: "cluster" });
      log.debug(`ignored a malformed fan-out message on ${channel}: ${f.error}`);
      return;
    }
    const v = f.value;
    if (v.kind === "canary") {
      if (v.node === nodeId && pending.get(channel) === v.seq) {
        pending.delete(channel);
        if (pending.size === 0) {
          clearTimeout(checkTimer);
          setHealthy(true, `canary back in ${Date.now() - roundSentAt} ms`);
        }
      }
      return;
    }
    if (v.node === nodeId) return; // delivered locally when it was published
    metrics.inc("ws_emit_events_in_total", { source: "cluster" });
    hub.deliver(v.msg);
  }

  const link = createRedisLink({
    target,
    commandTimeoutMs: config.redisTimeoutMs,
    log,
    metrics,
    onMessage,
    onSubscriberReady() {
      interest
        .resubscribeAll()
        .then(() => {
          if (!link.subscriberReady()) return;
          subscribed = true;
          clearTimeout(checkTimer);
          pending.clear();
          // Prove the new subscription right away instead of at the next tick.
          sendCanaries();
        })
        .catch((e) => log.warn(`redis subscribe failed: ${(e as Error).message}`));
    },
    onUnsubscribed() {
      interest.lost();
      if (!subscribed) return;
      subscribed = false;
      unsubscribedSince = Date.now();
      clearTimeout(checkTimer);
      pending.clear();
      setHealthy(false, "subscriber disconnected");
    },
  });

  const interest = createInterest({
    pinned: [bcast],
    subscribe: (chs) => link.subscribe(chs),
    unsubscribe: (chs) => link.unsubscribe(chs),
    connected: () => link.subscriberReady(),
    released(ch) {
      // Its canary (if out) will not come back: the round is complete without it.
      if (pending.delete(ch) && pending.size === 0) clearTimeout(checkTimer);
    },
    onError: (what, e) => log.warn(`redis ${what} failed: ${e.message}`),
    lingerMs: config.redisUnsubscribeDelayMs,
    waitMs: config.redisTimeoutMs,
  });
  const sweepTimer = setInterval(() => interest.sweep(), Math.max(100, Math.min(config.redisUnsubscribeDelayMs / 2, 1000)));
  // A partition is wanted while one of its rooms has a local subscriber: hub topics of every
  // format, and Socket.IO clients' own rooms (served without a topic).
  hub.onRoomChange((_format, ns, room, active) => interest.ref(channelOf(ns, room), active ? 1 : -1));
  const unwatchOwn = watchOwnRooms((ns, room, active) => interest.ref(channelOf(ns, room), active ? 1 : -1));

  /** A canary Redis took did not come back: the subscription is dead even if its socket looks fine. */
  function canaryLost() {
    clearTimeout(checkTimer);
    metrics.inc("ws_emit_redis_canary_failures_total");
    log.warn(`redis canary not back within ${canaryTimeoutMs} ms on ${pending.size} channel(s) (${[...pending.keys()].slice(0, 3).join(", ")}…): resubscribing`);
    pending.clear();
    setHealthy(false, "canary lost");
    link.resubscribe();
  }

  /** One canary round: a canary on every channel held, checked after the timeout. */
  function sendCanaries() {
    if (closed) return;
    if (!subscribed || !link.commandReady()) {
      // Not a silent failure: the connection says so. Forget the round; reconnecting is ioredis's job.
      clearTimeout(checkTimer);
      pending.clear();
      setHealthy(false, !link.commandReady() ? "redis unreachable" : "not subscribed");
      // Redis answers commands but our subscription never came back: do not wait forever.
      if (link.commandReady() && !subscribed && Date.now() - unsubscribedSince > 3 * config.redisCanaryMs) {
        log.warn("redis answers but the subscription has not come back: resubscribing");
        unsubscribedSince = Date.now();
        link.resubscribe();
      }
      return;
    }
    // The previous round is still out (its timer may not have fired yet when timeout = interval).
    if (pending.size > 0) return canaryLost();
    roundSentAt = Date.now();
    const s = ++seq;
    for (const ch of interest.held()) {
      pending.set(ch, s);
      link.publish(ch, encodeCanary(nodeId, s)).catch((e) => log.debug(`canary publish failed: ${(e as Error).message}`));
    }
    checkTimer = setTimeout(() => {
      if (closed || pending.size === 0 || seq !== s) return;
      if (!link.commandReady()) {
        pending.clear();
        setHealthy(false, "redis unreachable");
        return;
      }
      canaryLost();
    }, canaryTimeoutMs);
  }
  const canaryTimer = setInterval(sendCanaries, config.redisCanaryMs);

  const secrets = createSecretCache(
    async (name) => {
      try {
        return await link.get(config.secretPrefix + name);
      } catch (e) {
        throw new EngineUnavailable(`secret lookup failed: ${(e as Error).message}`);
      }
    },
    { ttlMs: config.secretCacheMs },
  );

  /** Emits that reached this node only since publishing last failed (logged once per outage, counted always). */
  let localOnly = 0;

  /** Hand one message to Redis for the other nodes; false when Redis did not take it. */
  async function fanOut(channel: string, msg: EmitMessage): Promise<boolean> {
    try {
      await link.publish(channel, encodeEmit(nodeId, msg));
      if (localOnly > 0) {
        log.info(`redis publishes work again; ${localOnly} emit(s) reached this node only meanwhile`);
        localOnly = 0;
      }
      return true;
    } catch (e) {
      metrics.inc("ws_emit_drops_total", { reason: "cluster_publish" });
      if (localOnly++ === 0) log.warn(`emits reach this node only until Redis is back: publish failed: ${(e as Error).message}`);
      return false;
    }
  }

  const nodes = createNodeRegistry(link.nodes, config.redisPrefix, nodeId, () => link.commandReady());

  return {
    kind: "redis",
    nodes,
    async publish(msg) {
      const delivered = hub.deliver(msg);
      let sent: Array<Promise<boolean>>;
      if (msg.rooms === null) sent = [fanOut(bcast, msg)];
      else if (msg.rooms.length === 1) sent = [fanOut(channelOf(msg.namespace, msg.rooms[0]!), msg)];
      else sent = splitByShard(msg, msg.rooms, partitions).map(([k, part]) => fanOut(partitionChannels[k]!, part));
      const ok = (await Promise.all(sent)).every(Boolean);
      return { delivered, cluster: ok };
    },
    // --roomspace-secret values win over Redis (fixed secrets for a few roomspaces need no Redis key).
    roomspaceSecret: (name) => (config.roomspaceSecrets.has(name) ? Promise.resolve(config.roomspaceSecrets.get(name)!) : secrets.get(name)),
    async setRoomspaceSecret(name, secret) {
      try {
        if (secret === null) await link.del(config.secretPrefix + name);
        else await link.set(config.secretPrefix + name, secret);
      } catch (e) {
        throw new EngineUnavailable(`cannot store the secret: ${(e as Error).message}`);
      } finally {
        secrets.invalidate(name);
      }
    },
    prepareJoin: (ns, room) => interest.ensure(channelOf(ns, room)),
    interest: () => interest.stats(),
    ready: () => !closed && healthy && subscribed && link.commandReady(),
    async close() {
      closed = true;
      unwatchOwn();
      clearInterval(sweepTimer);
      clearInterval(canaryTimer);
      clearTimeout(checkTimer);
      // Leave the cluster view at once instead of after the snapshot's TTL.
      await nodes.remove().catch((e) => log.debug(`could not remove this node's stats snapshot: ${(e as Error).message}`));
      await link.close();
    },
  };
}
