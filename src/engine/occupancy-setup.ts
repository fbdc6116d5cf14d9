/** Wires occupancy, presence and lifecycle webhooks for `serve` from the config: one call, one close. */
import type { Config } from "../core/config.ts";
import type { Hub } from "../core/hub.ts";
import { parseRedisTarget } from "../core/redis-url.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import { roomsRoute } from "../ops/rooms-http.ts";
import { createMemoryWebhookQueue, createRedisWebhookQueue, startWebhookSender, type WebhookQueue } from "../ops/webhooks.ts";
import { createOccupancy, type Occupancy, type OccupancyStore } from "./occupancy.ts";
import { createMemoryOccupancyStore } from "./occupancy-memory.ts";
import { connectOccupancyRedis, createRedisOccupancyStore, occupancyKeys } from "./occupancy-redis.ts";
import type { Engine } from "./types.ts";

export interface Presence {
  occupancy: Occupancy;
  /** For startServer's `routes`: GET /rooms… */
  route: ReturnType<typeof roomsRoute>;
  /** Take this node's counts out of the cluster and stop (after the drain). */
  close(): Promise<void>;
}

export function startPresence(d: { config: Config; hub: Hub; engine: Engine; log: Logger; metrics: Metrics }): Presence {
  const { config, log, metrics, engine } = d;
  const webhooks = config.webhookUrl !== null;
  // The Stream is written when webhooks or --webhook-stream need it (the scripts XADD atomically with each transition).
  const stream = webhooks || config.webhookStream;
  const closers: Array<() => void | Promise<void>> = [];
  let store: OccupancyStore;
  let queue: WebhookQueue | null = null;
  const target = config.redis && engine.kind === "redis" ? parseRedisTarget(config.redis) : null;
  if (target?.ok) {
    const nodeId = engine.nodes?.nodeId ?? crypto.randomUUID().replace(/-/g, "").slice(0, 12);
    const client = connectOccupancyRedis(target.value, log, config.redisTimeoutMs, "ws-emit-occupancy");
    store = createRedisOccupancyStore({ client, prefix: config.redisPrefix, nodeId, livenessMs: config.occupancyLivenessMs, webhooks: stream });
    if (config.webhookStream) log.info(`lifecycle events in the Redis Stream ${occupancyKeys(config.redisPrefix).events}`);
    closers.push(() => void client.disconnect());
    if (webhooks) {
      // Its own connection: XREADGROUP BLOCK holds it for up to a second.
      const qc = connectOccupancyRedis(target.value, log, 5000, "ws-emit-webhooks");
      queue = createRedisWebhookQueue(qc, occupancyKeys(config.redisPrefix).events, nodeId, config.webhookClaimMs);
    }
  } else {
    if (config.webhookStream) log.warn("--webhook-stream needs --redis: ignored");
    const mq = webhooks ? createMemoryWebhookQueue(metrics) : null;
    queue = mq;
    store = createMemoryOccupancyStore(mq ? (t) => mq.push(t) : null);
  }
  const occupancy = createOccupancy({
    hub: d.hub,
    store,
    log,
    metrics,
    presenceRoomspaces: config.presenceRoomspaces,
    notify: config.presenceNotices ? (msg) => void engine.publish(msg, "presence").catch((e) => log.warn(`presence notice not sent: ${(e as Error).message}`)) : null,
    livenessMs: config.occupancyLivenessMs,
  });
  const sender = queue && config.webhookUrl ? startWebhookSender({ url: config.webhookUrl, secret: config.webhookSecret, queue, log, metrics, maxBackoffMs: Math.min(30_000, Math.max(500, config.webhookClaimMs / 2)) }) : null;
  if (sender) log.info(`lifecycle webhooks to ${config.webhookUrl}${config.webhookSecret ? " (signed)" : " (unsigned: set --webhook-secret)"}`);
  if (config.presenceRoomspaces.length) log.info(`presence on for roomspaces ${config.presenceRoomspaces.join(", ")}${config.presenceNotices ? " (with join/leave notices)" : ""}`);
  return {
    occupancy,
    route: roomsRoute(occupancy),
    async close() {
      // Bounded: a shutdown never waits long on Redis.
      await Promise.race([occupancy.close().catch((e) => log.warn(`occupancy: counts not taken out at shutdown: ${(e as Error).message}`)), Bun.sleep(2000)]);
      await sender?.close(1000);
      for (const c of closers) await c();
    },
  };
}
