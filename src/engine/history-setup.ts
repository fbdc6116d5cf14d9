/** Build the history and idempotency stores the config asks for and wrap the engine with them. */
import type { Config } from "../core/config.ts";
import { parseRedisTarget } from "../core/redis-url.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import { withHistory } from "./history-engine.ts";
import { createMemoryHistory } from "./history-memory.ts";
import { createHistoryClient, createRedisHistory } from "./history-redis.ts";
import { createMemoryIdempotency, createRedisIdempotency } from "./idempotency.ts";
import type { Engine } from "./types.ts";
import { createIngestLease } from "./ingest-lease.ts";
import { createMemorySioSessions, createRedisSioSessions } from "./sio-sessions.ts";

export function addHistory(engine: Engine, config: Config, log: Logger, metrics: Metrics): Engine {
  const opts = { size: config.history, ttlMs: config.historyTtlMs };
  if (!config.redis) {
    const history = config.history > 0 ? createMemoryHistory(opts) : null;
    if (history) log.info(`history: the last ${config.history} events of each room for ${config.historyTtlMs / 1000} s, in memory`);
    return withHistory({ engine, history, idempotency: createMemoryIdempotency(config.idempotencyWindowMs), sioSessions: createMemorySioSessions(config.historyTtlMs), log, metrics });
  }
  const target = parseRedisTarget(config.redis);
  if (!target.ok) throw new Error(target.error);
  const client = createHistoryClient(target.value, config.redisTimeoutMs, log.withTag("history"));
  const history = config.history > 0 ? createRedisHistory(client, config.redisPrefix, opts) : null;
  if (history) log.info(`history: the last ${config.history} events of each room for ${config.historyTtlMs / 1000} s, in Redis (shared by every node)`);
  return withHistory({
    engine,
    history,
    idempotency: createRedisIdempotency(client, config.redisPrefix, config.idempotencyWindowMs),
    sioSessions: createRedisSioSessions(client, config.redisPrefix, config.historyTtlMs),
    storeReady: () => client.status === "ready",
    ingestLease: history ? createIngestLease(client, config.redisPrefix, log.withTag("history")) : undefined,
    log,
    metrics,
    async onClose() {
      await Promise.race([client.quit().catch(() => {}), Bun.sleep(1000)]);
      client.disconnect();
    },
  });
}
