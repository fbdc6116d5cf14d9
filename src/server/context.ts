import type { Server, ServerWebSocket } from "bun";
import type { OriginPolicy } from "../auth/origin.ts";
import type { Config } from "../core/config.ts";
import type { Conn, Transport } from "../core/connection.ts";
import type { Engine } from "../engine/types.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";

/** What a WebSocket transport implements; one shared object per transport, never a closure per socket. */
export interface WsProtocol {
  open(ws: WS): void;
  message(ws: WS, data: string | Buffer): void;
  close(ws: WS, code: number, reason: string): void;
}

/** `ws.data` of every WebSocket. `state` belongs to the transport. */
export interface WsData {
  conn: Conn;
  proto: WsProtocol;
  state: unknown;
}
export type WS = ServerWebSocket<WsData>;

/** Everything a route or transport needs; built once by the server. */
export interface Ctx {
  config: Config;
  log: Logger;
  hub: Hub;
  engine: Engine;
  metrics: Metrics;
  origins: OriginPolicy;
  /** Every open WebSocket, for the heartbeat and the drain. */
  sockets: Set<WS>;
  /**
   * Streams that are not WebSockets (SSE, polling); `end()` closes one cleanly (the drain
   * calls it). `transport` labels it in /metrics and /stats ("sse" when absent).
   */
  streams: Set<{ end(reason: string): void; transport?: Transport }>;
  server(): Server<WsData>;
  /** metricsUrl: the --metrics-address listener, once the ops adapter started it. */
  state: { draining: boolean; startedAt: number; metricsUrl?: string };
  /** wspush over SSE, provided by the SSE transport when present. */
  wspushSse?: (req: Request, token: string, ip: string, onClose: () => void) => Response;
  /** Active connections of every transport (WebSocket + streams). */
  connectionCount(): number;
}

/** Close codes we send. 1008/1009/1012/1013 are IANA-registered; 4xxx are ours. */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** The client broke the protocol (e.g. a malformed Engine.IO or Socket.IO packet). */
  PROTOCOL: 1002,
  POLICY: 1008,
  TOO_BIG: 1009,
  /** An exception in our handler (the error boundary closed just this socket). */
  INTERNAL_ERROR: 1011,
  RESTART: 1012,
  TRY_AGAIN: 1013,
  /** Too many failed joins in a minute. */
  JOIN_FLOOD: 4008,
  /** Too many malformed frames in a minute. */
  BAD_FRAME_FLOOD: 4009,
} as const;
