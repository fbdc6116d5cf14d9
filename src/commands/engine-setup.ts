/**
 * The serve command's engine and Redis ingest: the memory engine (--redis none), the Redis
 * engine (a configured Redis, or the default one when it answers at start), or standalone that
 * switches to Redis when the default Redis appears (./engine/auto.ts).
 */
import type { Config } from "../core/config.ts";
import type { Hub } from "../core/hub.ts";
import type { EmitMessage, IngestSource } from "../core/message.ts";
import { createAutoEngine, probeTarget, redisAnswers } from "../engine/auto.ts";
import { createMemoryEngine } from "../engine/memory.ts";
import { createRedisEngine } from "../engine/redis.ts";
import type { Engine } from "../engine/types.ts";
import { RAW_FORMATS, startRedisIngest, type RedisIngest } from "../ingest/redis-ingest.ts";
import type { Boundary } from "../ops/boundary.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";

export interface EngineSetup {
  engine: Engine;
  /** The Redis ingest, once there is Redis (null before, and with --redis none). */
  ingest(): RedisIngest | null;
}

/** What backends PUBLISH (Flask-SocketIO, JSON, socket.io emitter) is handed to `deliver` (../ingest/ingest-claim.ts). */
export async function setupEngine(d: { config: Config; hub: Hub; log: Logger; metrics: Metrics; boundary: Boundary; worker: boolean; deliver: (msg: EmitMessage, source: IngestSource) => number }): Promise<EngineSetup> {
  const { config, hub, log, metrics, boundary, deliver } = d;
  let ingest: RedisIngest | null = null;
  const url = config.redis;
  if (url === null) return { engine: createMemoryEngine(hub, config.roomspaceSecrets), ingest: () => null };
  // wsify and webdis clients listen on plain Redis channels: subscribe while any local client does.
  // Counted from the start, so that rooms joined while standalone are subscribed at the switch.
  const refs = new Map<string, number>();
  const watch = (room: string, active: boolean) => {
    const n = (refs.get(room) ?? 0) + (active ? 1 : -1);
    if (n <= 0) refs.delete(room);
    else refs.set(room, n);
    if (active && n === 1) ingest?.subscribeRaw(room);
    if (!active && n <= 0) ingest?.unsubscribeRaw(room);
  };
  for (const f of RAW_FORMATS) hub.watchRooms(f, watch);
  const withRedis = (): Engine => {
    const engine = createRedisEngine({ url, config, hub, log, metrics, boundary });
    const started = startRedisIngest({ url, config, log, metrics, boundary, deliver });
    for (const room of refs.keys()) started.subscribeRaw(room);
    ingest = started;
    return engine;
  };
  // Only the default URL, never configured, may be absent; workers fan out through Redis, so they need it.
  const target = probeTarget(url);
  if (config.redisExplicit || config.workers !== 1 || d.worker || !target || (await redisAnswers(target.host, target.port))) return { engine: withRedis(), ingest: () => ingest };
  const engine = createAutoEngine({ url, log, standalone: createMemoryEngine(hub, config.roomspaceSecrets), connect: withRedis });
  return { engine, ingest: () => ingest };
}
