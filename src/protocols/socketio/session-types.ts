/** The shapes of Engine.IO sessions (./session.ts makes and runs them). Types only. */
import type { Conn } from "../../core/connection.ts";
import type { WS } from "../../server/context.ts";
import type { Sink, Subscriber } from "../../core/hub.ts";

/** A WebSocket held by another worker, as the owner sees it (./worker-relay.ts RelayPipe). */
export interface RelaySocket {
  send(data: string | Uint8Array): boolean;
  close(): void;
  readonly open: boolean;
}

/** What a Socket.IO session's WebSocket carries in `ws.data.state`. */
export type SioWsState = { role: "main"; session: Session | null } | { role: "probe"; session: Session };

export interface Session {
  readonly id: string;
  readonly conn: Conn;
  transport: "polling" | "websocket";
  /** The WebSocket once the session is on it. */
  ws: WS | null;
  /**
   * On a WebSocket that another worker accepted and relays here (--workers, ./worker-relay.ts):
   * `ws` is the relay, and the session keeps its sink subscription, whose frames go to it.
   */
  relayed: boolean;
  /** A WebSocket probing for the upgrade (from its open until `5`). */
  probe: WS | null;
  /** `3probe` was sent: the client is pausing polling, so a GET is answered at once. */
  probeAnswered: boolean;
  /** Frames waiting for the next GET (polling only), and their size. */
  /** Packets waiting for the next GET: text, or a binary attachment (sent as `b<base64>`). */
  queue: Array<string | Uint8Array>;
  queued: number;
  /** Answers the pending long-poll GET, if one is waiting. */
  poll: ((body: string) => void) | null;
  /** The hub subscriber while polling; null for a session that started on WebSocket. */
  readonly sink: Sink | null;
  /** This session's entry in ctx.streams while it polls (so the drain can end it); null as sink. */
  readonly stream: { end(reason: string): void; transport: "polling" } | null;
  /**
   * Connected Socket.IO namespaces → the socket id given to the client. A null-prototype
   * object, not a Map (~60 bytes instead of ~400 for the usual one namespace); namespaces
   * always start with "/", so keys keep insertion order.
   */
  namespaces: Record<string, string>;
  /** When to send the next ping or, awaiting a pong, when to give up (ms since epoch). */
  pingDue: number;
  awaitingPong: boolean;
  upgradeTimers: Array<ReturnType<typeof setTimeout>>;
  /** Socket.IO packets waiting while an async join finishes (null when none is in flight): packets apply in order. */
  backlog: string[] | null;
  /** When to check that the client connected a namespace (--sio-connect-timeout); 0 once checked. */
  connectDue: number;
  closed: boolean;
  /** How it was closed, once closed. */
  closeKind: CloseKind | null;
}

/**
 * Who ended a session, which decides what a polling client sees next (as engine.io does):
 * - "server" (a kick, the drain, a full buffer): the close packet `1`, on the waiting GET or
 *   on the next one within TOMBSTONE_MS;
 * - "client" (it sent `1`): a waiting GET gets the noop `6`; later GETs 400 Session ID unknown;
 * - "error" (ping timeout, a protocol error, an aborted poll): a waiting GET gets `1`; later
 *   GETs 400 Session ID unknown (nobody is there to read a tombstone).
 */
export type CloseKind = "server" | "client" | "error";

export interface Sessions {
  /** Create a session; for WebSocket pass the socket it lives on. */
  open(conn: Conn, ws: WS | null): Session;
  get(id: string): Session | undefined;
  /** Last packets of a polling session closed while no GET was waiting (taken once). */
  takeTombstone(id: string): string | undefined;
  /** Send one Engine.IO packet (e.g. `42[…]`) in order on the current transport. */
  send(s: Session, packet: string): void;
  /** Handle one Engine.IO packet from the client (either transport). */
  packet(s: Session, text: string, from: WS | null): void;
  /** The hub subscriber that currently receives this session's frames. */
  subscriber(s: Session): Subscriber;
  /** Take the queued frames as one polling payload, or null when empty. */
  drainQueue(s: Session): string | null;
  close(s: Session, reason: string, code?: number, kind?: CloseKind): void;
  /**
   * A packet that breaks the protocol (Engine.IO or Socket.IO level): counted, and the session
   * is closed, as the reference server does. On a probing WebSocket only the probe is closed.
   * Returns true when the session itself was closed.
   */
  protocolError(s: Session, error: string, from?: WS | null): boolean;
  /** A WebSocket opened to upgrade this polling session. */
  beginProbe(s: Session, ws: WS): void;
  /** The probing WebSocket went away before `5`: the session goes on polling. */
  abortProbe(s: Session, ws: WS): void;
  /** Another worker relays a WebSocket for this polling session: it probes like one opened here. */
  beginRelayProbe(s: Session, relay: RelaySocket): WS;
  readonly size: number;
}
