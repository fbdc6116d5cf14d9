/**
 * Lifecycle webhooks: room_occupied, room_vacated, member_added, member_removed, POSTed in
 * batches (up to 100 events, gathered for up to 250 ms) to --webhook-url, signed with
 * --webhook-secret, delivered at least once: a batch is retried with exponential backoff until
 * the receiver answers 2xx, and only then acknowledged. Off the hot path: joins only touch
 * counters; the occupancy store queues the events (a Redis Stream read through a consumer
 * group, so a batch a dead node held is claimed by another after --webhook-claim; or memory).
 *
 *   POST <url>   {"events":[{"id":"1733330000000-0","type":"room_occupied","room":"chat","time":1733330000000,"node":"ab12…"}, …]}
 *   X-Ws-Emit-Timestamp: <Unix seconds>
 *   X-Ws-Emit-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 */
import { createHmac } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Transition, TransitionType } from "../engine/occupancy.ts";

export interface WebhookEvent {
  /** Unique per event (the Redis Stream entry id, or boot id + sequence): receivers dedupe on it. */
  id: string;
  type: TransitionType;
  room: string;
  sub?: string;
  node?: string;
  /** Milliseconds since the epoch, when the transition happened. */
  time: number;
}

export interface WebhookQueue {
  /** Up to `max` undelivered events, waiting up to `waitMs` for the first (0: do not wait). */
  take(max: number, waitMs: number): Promise<WebhookEvent[]>;
  ack(ids: string[]): Promise<void>;
  /** Still working on these (a long outage): keep them from being claimed by another node. */
  keep(ids: string[]): Promise<void>;
  /** Events waiting in this process (memory queue); null when they wait in Redis, safe across a restart. */
  waiting(): number | null;
  close(): void;
}

export const BATCH_MAX = 100;
export const BATCH_WAIT_MS = 250;
const MAX_BACKOFF_MS = 30_000;

/** The signature header's value for a body sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** In-memory queue (no Redis): bounded; the oldest events go first when full (counted). */
export function createMemoryWebhookQueue(metrics: Metrics, max = 100_000): WebhookQueue & { push(t: Transition[]): void } {
  const boot = Date.now().toString(36);
  let seq = 0;
  const q: WebhookEvent[] = [];
  let wake: (() => void) | null = null;
  return {
    push(ts) {
      const time = Date.now();
      for (const t of ts) q.push({ id: `${boot}-${++seq}`, type: t.type, room: t.room, ...(t.sub !== undefined ? { sub: t.sub } : {}), time });
      if (q.length > max) metrics.inc("ws_emit_webhook_queue_dropped_total", undefined, q.splice(0, q.length - max).length);
      wake?.();
    },
    async take(n, waitMs) {
      if (q.length === 0 && waitMs > 0) await new Promise<void>((r) => ((wake = r), setTimeout(r, waitMs))).finally(() => (wake = null));
      return q.splice(0, n);
    },
    ack: async () => {},
    keep: async () => {},
    waiting: () => q.length,
    close: () => wake?.(),
  };
}

type StreamEntry = [string, string[]];
function eventOf([id, f]: StreamEntry): WebhookEvent {
  const m: Record<string, string> = {};
  for (let i = 0; i + 1 < f.length; i += 2) m[f[i]!] = f[i + 1]!;
  return { id, type: m.type as TransitionType, room: m.room ?? "", ...(m.sub ? { sub: m.sub } : {}), ...(m.node ? { node: m.node } : {}), time: Number(m.time) };
}

/**
 * The Redis Stream the occupancy scripts XADD to, read through consumer group "webhooks".
 * `client` must be a connection of its own: XREADGROUP BLOCK holds it.
 */
export function createRedisWebhookQueue(client: Redis | Cluster, stream: string, consumer: string, claimMs: number): WebhookQueue {
  const group = "webhooks";
  let ready: Promise<void> | null = null;
  const ensureGroup = () =>
    (ready ??= client
      .xgroup("CREATE", stream, group, "0", "MKSTREAM")
      .then(() => {})
      .catch((e: Error) => {
        if (!/BUSYGROUP/.test(e.message)) {
          ready = null;
          throw e;
        }
      }));
  let claimCursor = "0-0";
  /** A Redis that restarted empty has no group: create it again on the next read. */
  const regroup = (e: Error) => {
    if (/NOGROUP/.test(e.message)) ready = null;
    throw e;
  };
  return {
    take: (max, waitMs) => take(max, waitMs).catch(regroup),
    async ack(ids) {
      if (ids.length) await client.xack(stream, group, ...ids);
    },
    async keep(ids) {
      if (ids.length) await client.call("XCLAIM", stream, group, consumer, 0, ...ids, "JUSTID");
    },
    waiting: () => null,
    close: () => client.disconnect(),
  };

  async function take(max: number, waitMs: number): Promise<WebhookEvent[]> {
    await ensureGroup();
    // First, batches a dead (or long-stalled) consumer took and never acknowledged.
    const [next, claimed] = (await client.xautoclaim(stream, group, consumer, claimMs, claimCursor, "COUNT", max)) as [string, StreamEntry[], unknown];
    claimCursor = next;
    const got = claimed.filter((e) => e && Array.isArray(e[1]));
    if (got.length) return got.map(eventOf);
    const r = (waitMs > 0
      ? await client.xreadgroup("GROUP", group, consumer, "COUNT", max, "BLOCK", waitMs, "STREAMS", stream, ">")
      : await client.xreadgroup("GROUP", group, consumer, "COUNT", max, "STREAMS", stream, ">")) as Array<[string, StreamEntry[]]> | null;
    return (r?.[0]?.[1] ?? []).map(eventOf);
  }
}

/**
 * Deliver what `queue` holds to `url` until closed.
 * @param o.maxBackoffMs longest wait between retries; keep it under --webhook-claim so a live
 *   sender re-claims its batch (queue.keep) before another node takes it over.
 */
export function startWebhookSender(o: { url: string; secret: string | null; queue: WebhookQueue; log: Logger; metrics: Metrics; maxBackoffMs?: number }): { close(graceMs?: number): Promise<void> } {
  const maxBackoff = o.maxBackoffMs ?? MAX_BACKOFF_MS;
  let closed = false;
  let busy = false;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function post(events: WebhookEvent[]): Promise<boolean> {
    const body = JSON.stringify({ events });
    const ts = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { "Content-Type": "application/json", "X-Ws-Emit-Timestamp": String(ts), "User-Agent": "ws-emit-webhooks" };
    if (o.secret) headers["X-Ws-Emit-Signature"] = signWebhook(o.secret, ts, body);
    try {
      const res = await fetch(o.url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000), redirect: "manual" });
      await res.arrayBuffer().catch(() => {});
      if (res.status >= 200 && res.status < 300) return true;
      o.log.debug(`webhook: ${o.url} answered ${res.status}`);
    } catch (e) {
      o.log.debug(`webhook: ${o.url}: ${(e as Error).message}`);
    }
    return false;
  }

  async function loop() {
    let errorDelay = 500;
    while (!closed) {
      let batch: WebhookEvent[];
      try {
        batch = await o.queue.take(BATCH_MAX, 1000);
        busy = batch.length > 0;
        if (batch.length > 0 && batch.length < BATCH_MAX) {
          await sleep(BATCH_WAIT_MS); // gather a batch rather than one POST per event
          batch.push(...(await o.queue.take(BATCH_MAX - batch.length, 0)));
        }
        errorDelay = 500;
      } catch (e) {
        busy = false; // (a Redis read failed: the batch, if any, stays pending there)
        if (closed) return;
        o.log.debug(`webhook: queue read failed: ${(e as Error).message}`);
        await sleep(errorDelay);
        errorDelay = Math.min(errorDelay * 2, MAX_BACKOFF_MS);
        continue;
      }
      if (batch.length === 0) continue;
      const ids = batch.map((e) => e.id);
      let delay = 500;
      let warned = false;
      while (!closed) {
        if (await post(batch)) {
          o.metrics.inc("ws_emit_webhook_deliveries_total", { result: "ok" });
          o.metrics.inc("ws_emit_webhook_events_total", undefined, batch.length);
          if (warned) o.log.info(`webhook: ${o.url} is back; delivered ${batch.length} held events`);
          // Not acknowledged (Redis down): another node re-sends it after --webhook-claim; ids let the receiver dedupe.
          await o.queue.ack(ids).catch((e) => o.log.warn(`webhook: delivered but not acknowledged: ${(e as Error).message}`));
          break;
        }
        o.metrics.inc("ws_emit_webhook_deliveries_total", { result: "error" });
        if (!warned) o.log.warn(`webhook: ${o.url} did not take ${batch.length} events; retrying with backoff`);
        warned = true;
        await sleep(delay);
        delay = Math.min(delay * 2, maxBackoff);
        await o.queue.keep(ids).catch(() => {});
      }
      busy = false;
    }
  }
  loop().catch((e) => o.log.error("webhook sender stopped", e));
  return {
    /** Stop; events held in memory get up to `graceMs` to go out first (those in Redis wait there for the other nodes). */
    async close(graceMs = 0) {
      const until = Date.now() + graceMs;
      while (Date.now() < until && (busy || (o.queue.waiting() ?? 0) > 0)) await sleep(20);
      closed = true;
      o.queue.close();
    },
  };
}
