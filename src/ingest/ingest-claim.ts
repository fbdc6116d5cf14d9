/**
 * Redis-channel emits with history or an idempotency key. Every node subscribes to the ingest
 * channels and used to deliver each message locally; a message that must get one position
 * per room (history) or be taken once (idempotency_key) is instead *claimed*: each node tries
 * the message's key in the idempotency store, the one that gets it publishes it through the
 * engine (history write, local delivery, fan-out) and the others leave it to the fan-out.
 *
 * A message without `idempotency_key` gets a key of its own: a hash of its content and how
 * many times this node saw that content recently. Every node sees a channel's messages in the
 * same order, so the k-th copy of the same payload is the same PUBLISH on every node; two
 * identical PUBLISHes stay two emits. Counters are forgotten after AUTO_WINDOW_MS of quiet,
 * and the keys live twice as long in the store, so a node whose counter restarted cannot
 * claim a copy another node already took.
 */
import type { Hub } from "../core/hub.ts";
import type { EmitMessage, IngestSource } from "../core/message.ts";
import type { Engine } from "../engine/types.ts";
import { encodeEmit } from "../engine/fanout-codec.ts";
import type { Logger } from "../ops/log.ts";

export const AUTO_WINDOW_MS = 10_000;

export function createIngestDelivery(hub: Hub, engine: Engine, log: Logger, now: () => number = Date.now) {
  const seen = new Map<string, { n: number; at: number }>();
  let sweptAt = now();
  function autoKey(msg: EmitMessage): string {
    const t = now();
    if (t - sweptAt > AUTO_WINDOW_MS) {
      for (const [k, v] of seen) if (t - v.at > AUTO_WINDOW_MS) seen.delete(k);
      sweptAt = t;
    }
    const h = new Bun.CryptoHasher("sha256").update(encodeEmit("", msg)).digest("base64url").slice(0, 32);
    const e = seen.get(h);
    const n = e && t - e.at <= AUTO_WINDOW_MS ? e.n + 1 : 1;
    seen.set(h, { n, at: t });
    return `auto:${h}:${n}`;
  }
  return (msg: EmitMessage, source: IngestSource): number => {
    // Plain channels (wsify, webdis: `only`) carry no ids and reach subscribed nodes only.
    if ((!engine.history && msg.idempotencyKey === undefined) || msg.only || msg.rooms === null && msg.idempotencyKey === undefined) return hub.deliver(msg);
    if (msg.idempotencyKey === undefined) {
      msg.idempotencyKey = autoKey(msg);
      msg.idempotencyTtlMs = 2 * AUTO_WINDOW_MS;
    }
    engine.publish(msg, source).catch((e) => log.warn(`could not publish a ${source} emit: ${(e as Error).message}`));
    return 0;
  };
}
