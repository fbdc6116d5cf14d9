/**
 * The default Redis, not configured: ws-emit uses the Redis at the default URL when one answers
 * there, as the original did, and otherwise runs standalone (the memory engine: ready, no Redis
 * work per emit, one log line) while a probe looks for it every few seconds. When it appears
 * the engine switches to Redis once, for good: from then on it behaves as a configured Redis
 * (an outage makes the node unready). A Redis configured explicitly never comes here.
 */
import type { Logger } from "../ops/log.ts";
import { redact } from "../core/redis-url.ts";
import type { Engine } from "./types.ts";

export const PROBE_EVERY_MS = 3000;
/** After switching, how long the node stays ready while the Redis engine subscribes. */
const SWITCH_GRACE_MS = 10_000;

/** Host and port of a plain redis:// URL (the default one). */
export function probeTarget(url: string): { host: string; port: number } | null {
  try {
    const u = new URL(url);
    if (u.protocol !== "redis:") return null;
    return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 6379) };
  } catch {
    return null;
  }
}

/**
 * true when something at host:port answers a RESP PING (any reply: +PONG, or -NOAUTH from a
 * Redis with a password). "localhost" tries both loopback addresses, as ioredis's connect would
 * find a Redis bound to either.
 */
export async function redisAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  if (host !== "localhost") return pingOnce(host, port, timeoutMs);
  const [v4, v6] = await Promise.all([pingOnce("127.0.0.1", port, timeoutMs), pingOnce("::1", port, timeoutMs)]);
  return v4 || v6;
}

function pingOnce(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: boolean, s?: { end(): void }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s?.end();
      resolve(v);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open: (s) => void s.write("PING\r\n"),
        data: (s, d) => finish(d.length > 0 && (d[0] === 0x2b || d[0] === 0x2d), s), // '+' or '-'
        close: () => finish(false),
        error: () => finish(false),
        connectError: () => finish(false),
      },
    }).catch(() => finish(false));
  });
}

export interface AutoEngineOptions {
  url: string;
  log: Logger;
  standalone: Engine;
  /** Build the Redis engine (and whatever goes with it: ingest) once Redis answers. */
  connect(): Engine;
  everyMs?: number;
}

export interface AutoEngine extends Engine {
  /** Call `fn` when the engine switched to Redis. */
  onSwitch(fn: () => void): void;
}

export function createAutoEngine(o: AutoEngineOptions): AutoEngine {
  const target = probeTarget(o.url);
  let current = o.standalone;
  let switched = false;
  /** After the switch, stay ready until the Redis engine first is (it subscribes within milliseconds). */
  let redisWasReady = false;
  let switchedAt = 0;
  let closed = false;
  const listeners: Array<() => void> = [];
  o.log.info(
    `no Redis at ${redact(o.url)} (--redis not set): running standalone, one node; looking for it every ${(o.everyMs ?? PROBE_EVERY_MS) / 1000} s (--redis none: never look; --redis URL: require it)`,
  );
  let probing = false;
  const timer = setInterval(async () => {
    if (probing || switched || closed || !target) return;
    probing = true;
    try {
      if (!(await redisAnswers(target.host, target.port)) || closed) return;
      switched = true;
      switchedAt = Date.now();
      clearInterval(timer);
      o.log.info(`Redis appeared at ${redact(o.url)}: switching from standalone to the Redis engine`);
      current = o.connect();
      await o.standalone.close();
      for (const fn of listeners) fn();
    } finally {
      probing = false;
    }
  }, o.everyMs ?? PROBE_EVERY_MS);
  timer.unref?.();

  return {
    get kind() {
      return current.kind;
    },
    get nodes() {
      return current.nodes;
    },
    publish: (msg, source) => current.publish(msg, source),
    prepareJoin: (ns, room) => current.prepareJoin?.(ns, room),
    interest: () => current.interest?.() ?? { held: 0, wanted: 0 },
    roomspaceSecret: (name) => current.roomspaceSecret(name),
    setRoomspaceSecret: (name, secret) => current.setRoomspaceSecret(name, secret),
    ready() {
      if (!switched) return true;
      if (current.ready()) redisWasReady = true;
      return current.ready() || (!redisWasReady && Date.now() - switchedAt < SWITCH_GRACE_MS);
    },
    onSwitch: (fn) => void listeners.push(fn),
    async close() {
      closed = true;
      clearInterval(timer);
      await current.close();
    },
  };
}
