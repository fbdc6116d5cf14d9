/**
 * Redis-channel emits with history or an idempotency key. Every node subscribes to the ingest
 * channels and delivers each message locally. A message that must get one position per room
 * (history) or be taken once (`idempotency_key`) is instead published through the engine
 * (history write, local delivery, fan-out) by one node, and left to the fan-out by the others:
 * - with an `idempotency_key`: every node claims the key; the one that gets it publishes;
 * - without one (history on): the node holding the ingest lease (../engine/ingest-lease.ts).
 *   A message's content cannot name the PUBLISH it came from (two identical PUBLISHes are two
 *   emits, and a node that starts late cannot count copies as the others do), so one node
 *   decides instead.
 */
import type { Hub } from "../core/hub.ts";
import type { EmitMessage, IngestSource } from "../core/message.ts";
import type { Engine } from "../engine/types.ts";
import type { Logger } from "../ops/log.ts";

export function createIngestDelivery(hub: Hub, engine: Engine, log: Logger) {
  return (msg: EmitMessage, source: IngestSource): number => {
    // Plain channels (wsify, webdis: `only`) carry no ids and reach subscribed nodes only.
    const keyed = msg.idempotencyKey !== undefined;
    if (msg.only || (!keyed && (!engine.history || msg.rooms === null))) return hub.deliver(msg);
    if (!keyed && !engine.ingestLease?.held()) return 0;
    engine.publish(msg, source).catch((e) => log.warn(`could not publish a ${source} emit: ${(e as Error).message}`));
    return 0;
  };
}
