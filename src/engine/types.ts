import type { EmitMessage, IngestSource } from "../core/message.ts";
import type { NodeRegistry } from "./node-registry.ts";
import type { Position } from "../core/history-id.ts";
import type { HistoryStore } from "./history.ts";
import type { SioSessionStore } from "./sio-sessions.ts";

/**
 * The engine carries emits between nodes and stores roomspace secrets.
 * Memory: one process. Redis: many processes on one Redis act as one service.
 */
export interface Engine {
  readonly kind: "memory" | "redis";
  /**
   * Deliver to every subscriber on every node, exactly once. Local subscribers get it at once;
   * the result says how many, and whether the other nodes were reached.
   */
  publish(msg: EmitMessage, source: IngestSource): Promise<PublishResult>;
  /** The roomspace's secret; null when unset. Throws EngineUnavailable when the store cannot answer. */
  roomspaceSecret(roomspace: string): Promise<string | null>;
  setRoomspaceSecret(roomspace: string, secret: string | null): Promise<void>;
  /** Where nodes share their /stats snapshots (Redis engine only). */
  readonly nodes?: NodeRegistry;
  /** The standalone engine of an unconfigured Redis calls `fn` when it switched to Redis (./auto.ts). */
  onSwitch?(fn: () => void): void;
  /**
   * Called by a join once it is allowed, before the client is added to the room: resolves when
   * this node receives the room's emits from other nodes (its partition subscribed; bounded by
   * the Redis timeout). undefined: nothing to wait for.
   */
  prepareJoin?(namespace: string, room: string): Promise<void> | undefined;
  /** Fan-out channels held and wanted (Redis engine). */
  interest?(): { held: number; wanted: number };
  /** Room history (--history): where clients' positions are read back from (./history-engine.ts). */
  readonly history?: HistoryStore;
  /** With history: Socket.IO sessions to recover after a reconnect (./sio-sessions.ts). */
  readonly sioSessions?: SioSessionStore;
  /** With history and Redis: whether this node publishes the Redis-channel emits (./ingest-lease.ts). */
  readonly ingestLease?: { held(): boolean };
  /** false while the engine cannot fan out (Redis down or subscription dead). */
  ready(): boolean;
  close(): Promise<void>;
}

export interface PublishResult {
  /** Local subscriptions that received it. */
  delivered: number;
  /** true: handed to Redis for the other nodes; false: Redis could not take it (other nodes missed it); null: single node. */
  cluster: boolean | null;
  /** With --history: the emit's position in each of its rooms. */
  positions?: ReadonlyMap<string, Position>;
  /** The `idempotency_key` was seen within the window: nothing was delivered. */
  duplicate?: boolean;
}

export class EngineUnavailable extends Error {}
