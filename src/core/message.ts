import type { Position } from "./history-id.ts";

/** An event on its way to subscribers, whatever it came in through. */
export interface EmitMessage {
  event: string;
  /** Zero or more arguments; Socket.IO sends each as a separate argument. */
  args: unknown[];
  /** Socket.IO namespace; native and SSE clients listen on "/". */
  namespace: string;
  /** Target rooms; null = every client of the namespace. */
  rooms: string[] | null;
  /**
   * The payload exactly as a backend published it on a plain Redis channel (wsify, webdis,
   * wspush style). Formats that deliver verbatim send this text; the others send `args`
   * (which then holds this same string as its one argument).
   */
  raw?: string;
  /**
   * Rooms whose members must not get this emit (Socket.IO's `except()`): a client in any of
   * them is left out, whatever other rooms of the emit it is in.
   */
  except?: string[];
  /**
   * Set when the arguments carried bytes (src/ingest/binary.ts): `args` then holds them as
   * base64 text, and this holds Socket.IO's form, placeholders plus the bytes in order.
   */
  binary?: { args: unknown[]; buffers: Uint8Array[] };
  /** Deliver only to these wire formats (plain Redis channels reach wsify/webdis/wspush clients only). */
  only?: string[];
  /**
   * Rooms whose subscribers get this emit through another message: a multi-room emit split
   * over Redis Cluster shards carries, in each part, the rooms of the parts before it. Formats
   * that deliver a multi-room emit once per subscriber (hub `Format.once`) leave those out.
   */
  skipRooms?: string[];
  /**
   * With --history: this emit's position in each of its rooms (assigned once, by the node that
   * took it, and carried by the fan-out), sent to clients as event ids (docs/history.md).
   */
  positions?: ReadonlyMap<string, Position>;
  /** The publisher's `idempotency_key`: a repeat within --idempotency-window is not delivered. */
  idempotencyKey?: string;
}

/** Where an emit came from (for metrics and logs). */
export type IngestSource = "http" | "presence" | "redis-json" | "redis-socketio" | "redis-emitter" | "redis-raw" | "wsify" | "webdis" | "cli" | "cluster";
