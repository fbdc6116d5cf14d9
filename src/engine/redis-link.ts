/**
 * The Redis connections of one node: a command connection (GET/SET/PUBLISH, auto-pipelined,
 * fails fast while disconnected) and a subscriber on the fan-out channels, which the engine
 * (un)subscribes as its interest changes (./interest.ts). One Redis uses PUBLISH/SUBSCRIBE;
 * Redis Cluster uses SPUBLISH/SSUBSCRIBE on sharded channels (one slot each).
 * Reconnects, errors and (re)subscriptions are logged and counted here.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { RedisTarget } from "../core/redis-url.ts";

export interface LinkOptions {
  target: RedisTarget;
  commandTimeoutMs: number;
  log: Logger;
  metrics: Metrics;
  onMessage(channel: string, text: string): void;
  /** Called each time the subscriber connection is (again) ready: subscribe what is wanted now. */
  onSubscriberReady(): void;
  /** Called when the subscriber loses its connection. */
  onUnsubscribed(): void;
}

export interface RedisLink {
  readonly sharded: boolean;
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  publish(channel: string, payload: string): Promise<void>;
  /** Resolves once Redis confirmed every channel (fails while the subscriber is down). */
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
  /** Subscriber connection up. */
  subscriberReady(): boolean;
  /** Node stats snapshots (./node-registry.ts): single-key commands, so any key works on a cluster. */
  readonly nodes: NodeOps;
  /** Command connection up (publishes and lookups can succeed). */
  commandReady(): boolean;
  /** Drop the subscriber connection and subscribe again on a fresh one. */
  resubscribe(): void;
  close(): Promise<void>;
}

/** The few commands the node registry needs; each takes one key. */
export interface NodeOps {
  setPx(key: string, value: string, ttlMs: number): Promise<void>;
  /** GET and PTTL of each key (auto-pipelined; on a cluster each goes to its key's master). */
  getWithTtl(keys: string[]): Promise<Array<{ value: string | null; pttl: number }>>;
  del(key: string): Promise<void>;
  zadd(key: string, score: number, member: string): Promise<void>;
  /** The `count` members with the highest scores. */
  ztop(key: string, count: number): Promise<string[]>;
  zrem(key: string, member: string): Promise<void>;
  /** Drop members scored below `max`, and let the whole key expire after `ttlMs` unless refreshed. */
  zprune(key: string, max: number, ttlMs: number): Promise<void>;
}

/** Redis and Cluster clients take these commands alike. */
function nodeOps(cmd: Redis | Cluster): NodeOps {
  return {
    setPx: async (k, v, ms) => void (await cmd.set(k, v, "PX", ms)),
    getWithTtl: (keys) => Promise.all(keys.map(async (k) => {
      const [value, pttl] = await Promise.all([cmd.get(k), cmd.pttl(k)]);
      return { value, pttl };
    })),
    del: async (k) => void (await cmd.del(k)),
    zadd: async (k, score, m) => void (await cmd.zadd(k, score, m)),
    ztop: (k, count) => cmd.zrange(k, -count, "-1"),
    zrem: async (k, m) => void (await cmd.zrem(k, m)),
    zprune: async (k, max, ttlMs) => {
      await Promise.all([cmd.zremrangebyscore(k, "-inf", `(${max}`), cmd.pexpire(k, ttlMs)]);
    },
  };
}

/** Errors of reaching Redis at all (the reconnect line reports them), not of talking to it. */
export function isConnectError(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  return ["ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE"].includes(code) || /^connect (ECONNREFUSED|ETIMEDOUT)/.test(e.message);
}

/** The database index in a redis:// URL's path, if any. */
function dbIndex(t: RedisTarget): string | null {
  return t.kind === "single" ? (/^[a-z]+:\/\/[^/]*\/(\d+)/i.exec(t.url)?.[1] ?? null) : null;
}

/** Exponential backoff capped at 2 s with jitter, forever: a node must come back by itself. */
const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100);

export function createRedisLink(o: LinkOptions): RedisLink {
  const { log, metrics, target } = o;
  let closing = false;

  /** Log transitions once, not each failed attempt's error twice. */
  function watch(client: Redis | Cluster, role: string) {
    let lastError = "";
    client.on("error", (e: Error) => {
      if (closing) return;
      const text = e.message || String(e);
      // ioredis carries on in database 0 when SELECT fails: other keys, another deployment's
      // secrets. A configuration error, so stop with one that names the setting.
      if (/DB index is out of range/i.test(text)) {
        log.error(`--redis: that Redis has no database ${dbIndex(target) ?? "?"} (${text}; its "databases" setting allows fewer): choose another database index`);
        process.exit(2);
      }
      // A failed connect is followed by "reconnecting", which names it: one warning, not two.
      if (text !== lastError && !isConnectError(e)) log.warn(`redis ${role}: ${text}`);
      else log.debug(`redis ${role}: ${text}`);
      lastError = text;
    });
    // One warning per outage; the retries every ~2 s after it are debug lines (and counted).
    let retrying = false;
    client.on("reconnecting", (delay: unknown) => {
      if (closing) return;
      metrics.inc("ws_emit_redis_reconnects_total", { client: role });
      const text = `redis ${role} reconnecting${typeof delay === "number" ? ` in ${delay} ms` : ""}`;
      if (retrying) log.debug(text);
      else log.warn(`${text}${lastError ? ` after "${lastError}"` : ""} (retrying until it is back)`);
      retrying = true;
    });
    client.on("ready", () => {
      lastError = "";
      retrying = false;
      log.info(`redis ${role} ready`);
    });
  }

  // --- one Redis ---
  if (target.kind === "single") {
    const common: RedisOptions = { retryStrategy, maxRetriesPerRequest: 1, connectTimeout: 5000 };
    const cmd = new Redis(target.url, {
      ...common,
      connectionName: "ws-emit-cmd",
      // Fail at once while disconnected: a join answers "unavailable" instead of waiting.
      enableOfflineQueue: false,
      commandTimeout: o.commandTimeoutMs,
      enableAutoPipelining: true,
    });
    watch(cmd, "commands");
    const sub = new Redis(target.url, { ...common, connectionName: "ws-emit-sub", autoResubscribe: false, enableOfflineQueue: false });
    watch(sub, "subscriber");
    // Subscribe explicitly on every ready, so we know exactly when the subscription is back.
    sub.on("ready", () => o.onSubscriberReady());
    sub.on("close", () => o.onUnsubscribed());
    sub.on("message", (ch: string, text: string) => o.onMessage(ch, text));
    // While disconnected ioredis refuses commands with its own wording ("Stream isn't writeable
    // and enableOfflineQueue options is false"), which ends up in logs and answers: say it plainly.
    const up = () => {
      if (cmd.status !== "ready") throw new Error(`Redis is not connected (${cmd.status})`);
    };
    return {
      sharded: false,
      get: async (k) => (up(), cmd.get(k)),
      set: async (k, v) => void (up(), await cmd.set(k, v)),
      del: async (k) => void (up(), await cmd.del(k)),
      publish: async (ch, p) => void (up(), await cmd.publish(ch, p)),
      subscribe: async (chs) => void (chs.length && (await sub.subscribe(...chs))),
      unsubscribe: async (chs) => void (chs.length && (await sub.unsubscribe(...chs))),
      subscriberReady: () => sub.status === "ready",
      nodes: nodeOps(cmd),
      commandReady: () => cmd.status === "ready",
      resubscribe() {
        o.onUnsubscribed();
        sub.disconnect(true);
      },
      async close() {
        closing = true;
        await Promise.allSettled([cmd.quit(), sub.quit()]);
        cmd.disconnect();
        sub.disconnect();
      },
    };
  }

  // --- Redis Cluster: sharded pub/sub ---
  const nodes = target.nodes;
  const redisOptions: RedisOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    connectTimeout: 5000,
    commandTimeout: o.commandTimeoutMs,
    maxRetriesPerRequest: 1,
  };
  const clusterOptions: ClusterOptions = {
    redisOptions,
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
  };
  const cmd = new Cluster(nodes, clusterOptions);
  watch(cmd, "cluster commands");

  let sub: Cluster;
  function connectSubscriber() {
    const s = new Cluster(nodes, { ...clusterOptions, enableOfflineQueue: true, shardedSubscribers: true, redisOptions: { ...redisOptions, commandTimeout: undefined } });
    watch(s, "cluster subscriber");
    s.on("ready", () => {
      if (s === sub) o.onSubscriberReady();
    });
    s.on("close", () => {
      if (s === sub) o.onUnsubscribed();
    });
    s.on("smessage", (ch: string, text: string) => {
      if (s === sub) o.onMessage(ch, text);
    });
    return s;
  }
  sub = connectSubscriber();
  return {
    sharded: true,
    get: (k) => cmd.get(k),
    set: async (k, v) => void (await cmd.set(k, v)),
    del: async (k) => void (await cmd.del(k)),
    publish: async (ch, p) => void (await cmd.spublish(ch, p)),
    // One SSUBSCRIBE per channel: each channel is its own hash slot.
    subscribe: async (chs) => void (await Promise.all(chs.map((ch) => sub.ssubscribe(ch)))),
    unsubscribe: async (chs) => void (await Promise.all(chs.map((ch) => sub.sunsubscribe(ch)))),
    subscriberReady: () => sub.status === "ready",
    nodes: nodeOps(cmd),
    commandReady: () => cmd.status === "ready",
    resubscribe() {
      o.onUnsubscribed();
      const old = sub;
      sub = connectSubscriber();
      old.disconnect();
    },
    async close() {
      closing = true;
      await Promise.allSettled([cmd.quit(), sub.quit()]);
      cmd.disconnect();
      sub.disconnect();
    },
  };
}
