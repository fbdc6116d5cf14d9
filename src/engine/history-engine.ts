/**
 * An engine with room history and idempotent publish: before an emit is delivered or fanned
 * out, a repeated `idempotency_key` is turned away and the emit gets its position in each of
 * its rooms (written once, by this node, so every node delivers the same ids and any node can
 * replay it). The engine underneath is unchanged; the positions travel in the message.
 */
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { HistoryStore } from "./history.ts";
import type { IdempotencyStore } from "./idempotency.ts";
import type { SioSessionStore } from "./sio-sessions.ts";
import type { IngestLease } from "./ingest-lease.ts";
import { EngineUnavailable, type Engine, type PublishResult } from "./types.ts";
import type { EmitMessage, IngestSource } from "../core/message.ts";

export interface HistoryEngineDeps {
  engine: Engine;
  history: HistoryStore | null;
  idempotency: IdempotencyStore;
  sioSessions?: SioSessionStore;
  ingestLease?: IngestLease;
  /** The history's own Redis connection is up (a node that cannot read or write history is not ready). */
  storeReady?: () => boolean;
  log: Logger;
  metrics: Metrics;
  /** Called once when the engine closes (the history's Redis connection). */
  onClose?: () => Promise<void>;
}

export function withHistory({ engine, history, idempotency, sioSessions, ingestLease, storeReady, log, metrics, onClose }: HistoryEngineDeps): Engine {
  let failing = 0;

  async function publishWithHistory(msg: EmitMessage, source: IngestSource): Promise<PublishResult> {
    const key = msg.idempotencyKey;
    if (key !== undefined) {
      let first: boolean;
      try {
        first = await idempotency.claim(key);
      } catch (e) {
        throw new EngineUnavailable(`cannot check the idempotency key: ${(e as Error).message}`);
      }
      if (!first) {
        metrics.inc("ws_emit_emits_duplicate_total");
        return { delivered: 0, cluster: null, duplicate: true };
      }
    }
    if (history && msg.rooms !== null) {
      try {
        msg.positions = await history.append(msg);
        if (failing > 0) {
          log.info(`history writes work again (${failing} emit(s) went out without a position meanwhile)`);
          failing = 0;
        }
      } catch (e) {
        // Delivered live all the same, without an id (docs/history.md: what is not guaranteed).
        metrics.inc("ws_emit_history_errors_total", { op: "append" });
        if (failing++ === 0) log.warn(`history write failed, emits go out without a position until it works: ${(e as Error).message}`);
      }
    }
    try {
      const r = await engine.publish(msg, source);
      return msg.positions ? { ...r, positions: msg.positions } : r;
    } catch (e) {
      if (key !== undefined) await idempotency.release(key).catch(() => {});
      throw e;
    }
  }

  // Everything else the engine offers (and will offer) passes through: the wrapper inherits it.
  const wrapped = Object.create(engine) as Engine;
  return Object.assign(wrapped, {
    history: history ?? undefined,
    sioSessions: history ? sioSessions : undefined,
    ingestLease: history ? ingestLease : undefined,
    publish(msg: EmitMessage, source: IngestSource) {
      // Nothing to add (history off or a broadcast, and no key): the engine's own path, no extra await.
      if (msg.idempotencyKey === undefined && (!history || msg.rooms === null)) return engine.publish(msg, source);
      return publishWithHistory(msg, source);
    },
    ready: () => engine.ready() && (storeReady?.() ?? true) && (ingestLease?.known() ?? true),
    async close() {
      await ingestLease?.close();
      await engine.close();
      await history?.close();
      idempotency.close();
      sioSessions?.close();
      await onClose?.();
    },
  });
}
