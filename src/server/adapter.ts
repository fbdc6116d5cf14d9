/**
 * The one shape every part that answers requests has: a wire protocol (native, Socket.IO, SSE,
 * the compat ones), the HTTP ingest routes and the ops endpoints. The server is a router over a
 * list of these (src/adapters.ts); it knows none of them by name.
 */
import type { Format } from "../core/hub.ts";
import type { Ctx } from "./context.ts";

/** A request's answer: a Response, `undefined` when upgraded to a WebSocket, `null` when not this adapter's. */
export type Answer = Response | undefined | null;

/** The client's address, looked up only when asked (requestIP costs ~2 µs, a tenth of an emit). */
export type Peer = () => string;

/** What an adapter does once the server context exists. */
export interface Handlers {
  /**
   * Answer the request or return null; called in list order, first answer wins. Its WebSocket
   * handlers travel with each socket it upgrades (`ws.data.proto`). Throwing an HttpError answers
   * with it; any other exception is caught by the server's boundary (JSON 500, counted).
   */
  handle(req: Request, url: URL, peer: Peer): Answer | Promise<Answer>;
  /** Called only when no adapter's `handle` answered (catch-alls such as wspush's "any path with ?token="). */
  fallback?(req: Request, url: URL, peer: Peer): Answer | Promise<Answer>;
  close?(): void;
}

export interface Adapter {
  /** Names the adapter in logs and in ws_emit_internal_errors_total{where}. */
  readonly name: string;
  /** Wire formats this adapter's subscribers receive; registered with the hub before the server starts. */
  readonly formats?: readonly Format[];
  /** Build the handlers (called once, before the server listens); absent when it answers no request itself. */
  start?(ctx: Ctx): Handlers;
}
