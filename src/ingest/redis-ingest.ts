/**
 * Redis ingest: what backends PUBLISH, delivered to this node's own subscribers.
 *
 * Every ws-emit node subscribes to these channels itself, so each node delivers locally
 * and the whole service delivers exactly once; nothing here re-publishes.
 * - `config.redisChannels` (`flask-socketio`, `socketio`): python-socketio / Flask-SocketIO
 *   message-queue dicts, pickle or JSON (./socketio-queue.ts).
 * - `config.redisJsonChannel` (`ws-emit`): the JSON object POST /emit takes, minus the secret.
 * - pattern `socket.io#*`: @socket.io/redis-emitter msgpack (./emitter.ts).
 * Channel names are used exactly as configured (no prefix): they are the names other
 * software publishes on.
 *
 * On Redis Cluster, a classic PUBLISH reaches every node, so the ingest listens through a
 * cluster-aware subscriber (any reachable master; another one when it goes away, not only the
 * first node of the URL), and also SSUBSCRIBEs the ingest channels on the masters owning their
 * slots, so backends that SPUBLISH (sharded pub/sub) reach it too. A message is either
 * classic or sharded, never both: nothing arrives twice.
 *
 * Pub/sub is at-most-once: what is published while this subscriber reconnects is lost.
 * Redis down at start is not fatal: ioredis keeps reconnecting and we subscribe on every
 * `ready`, so the subscriptions come back by themselves.
 */
import { isConnectError } from "../engine/redis-link.ts";
import Redis, { Cluster } from "ioredis";
import { closeRoomForOwners, disconnectOwner, ownerOf } from "../auth/own-rooms.ts";
import type { Config } from "../core/config.ts";
import type { Logger } from "../ops/log.ts";
import type { EmitMessage, IngestSource } from "../core/message.ts";
import type { Counter, Metrics } from "../ops/metrics.ts";
import { createBoundary, type Boundary } from "../ops/boundary.ts";
import { clip } from "../core/bounds.ts";
import { MAX_BATCH, parseEmit } from "./emit-request.ts";
import { parseEmitterMessage } from "./emitter.ts";
import { parseSocketioQueueMessage, type QueueParse } from "./socketio-queue.ts";
import { parseRedisTarget } from "../core/redis-url.ts";

export const EMITTER_PATTERN = "socket.io#*";
/** Formats that receive plain-channel text (`EmitMessage.only`). */
export const RAW_FORMATS = ["wsify", "webdis"];

export interface RedisIngestOptions {
  url: string;
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Deliver to this node's local subscribers only; returns the delivery count. */
  deliver: (msg: EmitMessage, source: IngestSource) => number;
  /** The process's error boundary: a message whose handling throws is dropped, counted and logged, never fatal. */
  boundary?: Boundary;
}

export interface RedisIngest {
  /** Connected and subscribed to every ingest channel. */
  ready(): boolean;
  /**
   * Plain channels (wsify, webdis): while a local client listens on `channel`, a plain
   * `PUBLISH channel text` reaches it verbatim. Reference-counted by the caller (one call per
   * 0→1 / 1→0 change); the ingest channels themselves are never subscribed as plain ones.
   */
  subscribeRaw(channel: string): void;
  unsubscribeRaw(channel: string): void;
  close(): Promise<void>;
}

/** How many invalid-message warnings to print per window before summarising. */
const WARN_BURST = 20;
const WARN_WINDOW_MS = 10_000;
const utf8 = new TextDecoder("utf-8", { fatal: false });
/** JSON emits must be valid UTF-8. One decoder for all: decode() without `stream` keeps no state. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export function startRedisIngest(opts: RedisIngestOptions): RedisIngest {
  const { config, metrics } = opts;
  const log = opts.log.withTag("redis-ingest");
  const channels = [...new Set([...config.redisChannels, config.redisJsonChannel])].filter(Boolean);
  const queueChannels = new Set(config.redisChannels);
  const limits = { maxBytes: config.maxBodyBytes };
  let subscribed = false;
  let closed = false;
  const raw = new Set<string>();
  const wspushPattern = config.wspushPrefix ? `${config.wspushPrefix.replace(/[*?[\]\\]/g, "\\$&")}*` : null;
  const patterns = [EMITTER_PATTERN, ...(wspushPattern ? [wspushPattern] : [])];

  const target = parseRedisTarget(opts.url);
  if (!target.ok) throw new Error(target.error);
  const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5_000);
  const t = target.value;
  const clusterOptions = t.kind === "cluster" ? { redisOptions: { username: t.username, password: t.password, tls: t.tls ? {} : undefined, connectTimeout: 5000 }, clusterRetryStrategy: retryStrategy } : null;
  const sub: Redis | Cluster =
    t.kind === "single"
      ? new Redis(t.url, {
          // We subscribe on every `ready` ourselves, so a subscribe that failed while Redis was
          // down is not lost and nothing is queued while disconnected.
          autoResubscribe: false,
          autoResendUnfulfilledCommands: false,
          enableOfflineQueue: false,
          maxRetriesPerRequest: null,
          retryStrategy,
        })
      : // ioredis picks a reachable node for the subscription and moves it (with its channels) when that node goes.
        new Cluster(t.nodes, { ...clusterOptions!, enableOfflineQueue: true });
  // Sharded ingest (SPUBLISH by backends on a cluster): one SSUBSCRIBE per channel, on its slot's master.
  const shardedChannels = [...new Set([...config.redisChannels, config.redisJsonChannel])].filter(Boolean);
  const ssub = t.kind === "cluster" && shardedChannels.length > 0 ? new Cluster(t.nodes, { ...clusterOptions!, enableOfflineQueue: true, shardedSubscribers: true }) : null;
  let shardedReady = ssub === null;
  ssub?.on("error", (e: Error) => log.debug(`sharded ingest: ${e.message}`));
  ssub?.on("ready", () => {
    Promise.all(shardedChannels.map((ch) => ssub.ssubscribe(ch)))
      .then(() => {
        shardedReady = true;
        log.info(`sharded ingest: SSUBSCRIBE ${shardedChannels.join(", ")} on their masters`);
      })
      .catch((e: Error) => {
        if (!closed) log.warn(`sharded ingest subscribe failed: ${e.message}`);
      });
  });

  // The same connect error repeats on every retry: say it once, then only the retries.
  let lastError = "";
  sub.on("error", (e: Error) => {
    // A failed connect is named by the "reconnecting" line that follows.
    if (e.message !== lastError && !isConnectError(e)) log.warn(`redis error: ${e.message}`);
    else log.debug(`redis error: ${e.message}`);
    lastError = e.message;
  });
  let retrying = false;
  sub.on("reconnecting", (ms: number) => {
    subscribed = false;
    metrics.inc("ws_emit_redis_reconnects_total", { client: "ingest" });
    // Warn once per outage; the retries after it are debug lines.
    if (retrying) log.debug(`reconnecting in ${ms} ms`);
    else log.warn(`reconnecting in ${ms} ms${lastError ? ` after "${lastError}"` : ""} (retrying until Redis is back; --redis none runs without Redis)`);
    retrying = true;
  });
  sub.on("close", () => (subscribed = false));
  sub.on("ready", () => {
    lastError = "";
    retrying = false;
    Promise.all([channels.length ? sub.subscribe(...channels) : null, sub.psubscribe(...patterns), raw.size ? sub.subscribe(...raw) : null])
      .then(() => {
        subscribed = true;
        log.info(`subscribed to ${channels.join(", ")} and patterns ${patterns.join(", ")}`, { channels, patterns, plain: raw.size });
      })
      .catch((e: Error) => {
        if (!closed) log.error(`subscribe failed: ${e.message}`);
      });
  });

  // --- invalid messages: log a bounded number, count all ---
  let windowStart = 0;
  let warned = 0;
  let suppressed = 0;
  const invalid = (source: IngestSource, channel: string, payload: Uint8Array, error: string) => {
    metrics.inc("ws_emit_events_invalid_total", { source });
    const now = Date.now();
    if (now - windowStart > WARN_WINDOW_MS) {
      if (suppressed > 0) log.warn(`${suppressed} more invalid messages were not logged`);
      windowStart = now;
      warned = 0;
      suppressed = 0;
    }
    if (++warned > WARN_BURST) {
      suppressed++;
      return;
    }
    // The emitter's channels are named by whoever publishes (socket.io#<anything>): cut in the log.
    const ch = clip(channel, 100);
    log.warn(`invalid message on ${ch}: ${clip(error, 300)}`, { source, channel: ch, bytes: payload.length, start: preview(payload) });
  };
  // Labels bound once per source: no label strings per message.
  const eventsIn = new Map<IngestSource, Counter>();
  const accept = (source: IngestSource, msg: EmitMessage) => {
    let c = eventsIn.get(source);
    if (!c) eventsIn.set(source, (c = metrics.counter("ws_emit_events_in_total", { source })));
    c.inc();
    opts.deliver(msg, source);
  };

  const onJson = (channel: string, payload: Uint8Array) => {
    if (payload.length > config.maxBodyBytes) return invalid("redis-json", channel, payload, `larger than ${config.maxBodyBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(strictUtf8.decode(payload));
    } catch {
      return invalid("redis-json", channel, payload, "not valid JSON");
    }
    if (!Array.isArray(body)) {
      const p = parseEmit(body);
      if (!p.ok) return invalid("redis-json", channel, payload, p.error);
      return accept("redis-json", p.value);
    }
    // A batch, as POST /emit takes it: checked whole first, then delivered in order.
    if (body.length === 0 || body.length > MAX_BATCH) return invalid("redis-json", channel, payload, `a batch must hold 1 to ${MAX_BATCH} emits`);
    const msgs: EmitMessage[] = [];
    for (let i = 0; i < body.length; i++) {
      const p = parseEmit(body[i]);
      if (!p.ok) return invalid("redis-json", channel, payload, `item ${i}: ${p.error}`);
      msgs.push(p.value);
    }
    for (const m of msgs) accept("redis-json", m);
  };
  /** python-socketio's session methods, applied to the Socket.IO clients connected here. */
  const applySessionMethod = (channel: string, p: Extract<QueueParse, { kind: "session" }>) => {
    const ns = p.namespace;
    if (p.method === "close_room") {
      const n = closeRoomForOwners(ns, p.room);
      return log.debug(`close_room ${JSON.stringify(p.room)} on ${channel}: ${n} Socket.IO client(s) here left it`);
    }
    const owner = ownerOf(ns, p.sid);
    if (!owner) return log.debug(`${p.method} ${p.sid} on ${channel}: no such Socket.IO client here`);
    if (p.method === "disconnect") disconnectOwner(ns, p.sid);
    else if (p.method === "leave_room") owner.leave(p.room!);
    else if (!owner.enter(p.room!)) log.warn(`enter_room ${p.sid} on ${channel}: the client is in --max-rooms rooms already`);
  };
  const onQueue = (channel: string, payload: Uint8Array) => {
    const p = parseSocketioQueueMessage(payload, limits);
    if (!p.ok) return invalid("redis-socketio", channel, payload, p.error);
    if (p.kind === "ignored") return log.debug(`ignored "${p.method}" on ${channel}: ${p.reason}`);
    if (p.kind === "session") return applySessionMethod(channel, p);
    accept("redis-socketio", p.value);
  };
  const onEmitter = (channel: string, payload: Uint8Array) => {
    const p = parseEmitterMessage(payload, config.maxBodyBytes);
    if (!p.ok) return invalid("redis-emitter", channel, payload, p.error);
    if (p.kind === "ignored") return log.debug(`ignored message on ${clip(channel, 100)}: ${p.reason}`);
    accept("redis-emitter", p.value);
  };

  /** A plain channel's text, verbatim, to the formats that deliver verbatim. */
  const onRaw = (channel: string, room: string, payload: Uint8Array, only: string[]) => {
    if (payload.length > config.maxBodyBytes) return invalid("redis-raw", channel, payload, `larger than ${config.maxBodyBytes} bytes`);
    const text = utf8.decode(payload);
    accept("redis-raw", { event: "message", args: [text], raw: text, namespace: "/", rooms: [room], only });
  };

  // A throw here would reach ioredis's parser: every handler runs behind the boundary.
  const boundary = opts.boundary ?? createBoundary(log, metrics);
  const guard = (fn: () => void) => void boundary.guard("redis-ingest", fn);
  // The JSON channel is recognised by its bytes: no string for the channel name per message.
  const jsonChannel = queueChannels.has(config.redisJsonChannel) ? null : Buffer.from(config.redisJsonChannel);
  const onMessageBuffer = (ch: Buffer, payload: Buffer) =>
    guard(() => {
      if (jsonChannel?.equals(ch)) return onJson(config.redisJsonChannel, payload);
      const channel = ch.toString();
      if (channel === config.redisJsonChannel && !queueChannels.has(channel)) onJson(channel, payload);
      else if (queueChannels.has(channel)) onQueue(channel, payload);
      else if (raw.has(channel)) onRaw(channel, channel, payload, RAW_FORMATS);
    });
  sub.on("messageBuffer", onMessageBuffer);
  ssub?.on("smessageBuffer", onMessageBuffer);
  sub.on("pmessageBuffer", (pattern: string | Buffer, ch: Buffer, payload: Buffer) =>
    guard(() => {
      const channel = ch.toString();
      if (String(pattern) === wspushPattern) onRaw(channel, `wspush::${channel.slice(config.wspushPrefix.length)}`, payload, ["wspush", "wspush-sse"]);
      else onEmitter(channel, payload);
    }),
  );

  const isIngestChannel = (c: string) => channels.includes(c);
  return {
    ready: () => subscribed && shardedReady && sub.status === "ready",
    subscribeRaw(channel) {
      if (isIngestChannel(channel) || raw.has(channel)) return;
      raw.add(channel);
      if (sub.status === "ready") sub.subscribe(channel).catch((e: Error) => log.warn(`subscribe ${channel} failed: ${e.message}`));
    },
    unsubscribeRaw(channel) {
      if (!raw.delete(channel)) return;
      if (sub.status === "ready") sub.unsubscribe(channel).catch((e: Error) => log.warn(`unsubscribe ${channel} failed: ${e.message}`));
    },
    async close() {
      closed = true;
      subscribed = false;
      sub.disconnect();
      ssub?.disconnect();
    },
  };
}

/** The first bytes of a payload, printable, for logs (never the whole thing). */
function preview(b: Uint8Array): string {
  const head = b.subarray(0, 48);
  const looksText = head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0xc0 || (c >= 0x80 && c < 0xc0));
  const s = looksText && head[0] !== 0x80 ? utf8.decode(head) : Buffer.from(head).toString("hex");
  return b.length > head.length ? `${s}…` : s;
}
