/**
 * Engine.IO v4 sessions: one per Socket.IO client, whatever its transport.
 *
 * A session starts on long-polling (a hub `Sink` buffering frames for the next GET) or
 * straight on WebSocket (its `ws` subscribed to hub topics). The upgrade moves every
 * subscription from the sink to the ws in one synchronous step, after flushing what the
 * sink buffered, so no frame is lost or doubled. The server pings (`2`) every pingInterval
 * and closes a session whose pong (`3`) is later than pingTimeout: one sweep timer for all
 * sessions (a timer per session cost ~300 bytes each), so pings go out up to a tick late.
 */
import { releaseOwnRoom } from "../../auth/own-rooms.ts";
import { releaseConn, subscriptionsOf, type Conn } from "../../core/connection.ts";
import { CLOSE, type Ctx, type WS } from "../../server/context.ts";
import type { Encoded, Sink, Subscriber } from "../../core/hub.ts";
import { EIO, RECORD_SEP, SIO_FORMAT_ID, parseEnginePacket } from "./codec.ts";
import { closeReason } from "../../core/bounds.ts";

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

/** How long a probing WebSocket may take to send `5` (engine.io's upgradeTimeout). */
const UPGRADE_TIMEOUT_MS = 10_000;
/** While probing, a waiting GET is released with a noop this often so the client can pause polling. */
const NOOP_EVERY_MS = 100;
/** How long a closed polling session keeps its last packets for the client's next GET. */
const TOMBSTONE_MS = 10_000;

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

/** `idPrefix`: names the worker that owns the session under --workers (see engineio-forward.ts). */
export function createSessions(
  ctx: Ctx,
  onMessage: (s: Session, data: string) => void,
  /** A valid packet we do not take (a binary attachment): counted; a flood closes the session. */
  onUnsupported: (s: Session, error: string) => void,
  idPrefix = "",
): Sessions {
  const { hub, config, metrics } = ctx;
  const all = new Map<string, Session>();
  /** The stand-ins for WebSockets relayed by other workers. */
  const relays = new WeakSet<WS>();
  const tombstones = new Map<string, string>();

  function subscriber(s: Session): Subscriber {
    return s.transport === "websocket" && !s.relayed ? { ws: s.ws! } : { sink: s.sink! };
  }

  /** A hub frame for a relayed session: straight to the relay, which bounds its own buffer. */
  function relaySend(s: Session, encoded: Encoded) {
    if (s.closed) return;
    const frames = typeof encoded === "string" ? [encoded] : encoded.parts;
    let ok = true;
    for (const f of frames) if (s.ws!.send(f) === 0) ok = false;
    if (!ok) {
      metrics.inc("ws_emit_drops_total", { reason: "backpressure" });
      close(s, "relay buffer full");
    }
  }

  /** The heartbeat of every session: ticks a fifth of the shortest interval (at most 1 s) while any session lives. */
  const tickMs = Math.max(5, Math.min(1000, Math.floor(Math.min(config.sioPingIntervalMs, config.sioPingTimeoutMs, config.sioConnectTimeoutMs) / 5)));
  let sweepTimer: ReturnType<typeof setInterval> | null = null;
  function sweep() {
    const now = Date.now();
    for (const s of all.values()) {
      // A session that never connects a namespace would otherwise hold its slot forever.
      if (s.connectDue !== 0 && now >= s.connectDue) {
        s.connectDue = 0;
        if (Object.keys(s.namespaces).length === 0) {
          metrics.inc("ws_emit_drops_total", { reason: "connect_timeout" });
          close(s, "connect timeout");
          continue;
        }
      }
      if (now < s.pingDue) continue;
      if (s.awaitingPong) {
        metrics.inc("ws_emit_drops_total", { reason: "heartbeat_timeout" });
        close(s, "ping timeout", CLOSE.NORMAL, "error");
      } else {
        send(s, EIO.PING);
        s.awaitingPong = true;
        s.pingDue = now + config.sioPingTimeoutMs;
      }
    }
    if (all.size === 0 && sweepTimer) {
      clearInterval(sweepTimer);
      sweepTimer = null;
    }
  }

  function drainQueue(s: Session): string | null {
    if (s.queue.length === 0) return null;
    const body = pollingPayload(s.queue);
    s.queue = [];
    s.queued = 0;
    return body;
  }

  function flushPoll(s: Session) {
    const body = s.poll ? drainQueue(s) : null;
    if (body !== null) s.poll!(body);
  }

  function enqueue(s: Session, encoded: Encoded) {
    if (s.closed) return;
    const frames = typeof encoded === "string" ? [encoded] : encoded.parts;
    let size = 0;
    for (const f of frames) size += typeof f === "string" ? f.length : Math.ceil(f.byteLength / 3) * 4 + 1;
    if (s.queued + size > config.backpressureBytes) {
      metrics.inc("ws_emit_drops_total", { reason: "backpressure" });
      ctx.log.debug(`socket.io session ${s.id}: polling buffer over ${config.backpressureBytes} bytes, closing`);
      // What did not fit is dropped (counted above); the client only gets the close packet.
      s.queue = [];
      s.queued = 0;
      close(s, "polling buffer full");
      return;
    }
    const first = s.queue.length === 0;
    for (const f of frames) s.queue.push(f);
    s.queued += size;
    // Answer a waiting GET once per tick, so a burst of frames goes out as one payload.
    if (first && s.poll) queueMicrotask(() => flushPoll(s));
  }

  function send(s: Session, packet: string) {
    if (s.closed) return;
    if (s.transport === "websocket") s.ws!.send(packet);
    else enqueue(s, packet);
  }

  function schedulePing(s: Session) {
    s.awaitingPong = false;
    s.pingDue = Date.now() + config.sioPingIntervalMs;
    if (!sweepTimer) {
      sweepTimer = setInterval(sweep, tickMs);
      sweepTimer.unref();
    }
  }

  function clearUpgrade(s: Session) {
    for (const t of s.upgradeTimers) clearTimeout(t);
    s.upgradeTimers = [];
  }

  /** A probing WebSocket opened: it has UPGRADE_TIMEOUT_MS to complete the upgrade. */
  function beginProbe(s: Session, ws: WS) {
    s.probe = ws;
    s.upgradeTimers.push(
      setTimeout(() => {
        if (s.probe !== ws) return;
        abortProbe(s, ws);
        ws.close(CLOSE.POLICY, "upgrade timeout");
      }, UPGRADE_TIMEOUT_MS),
    );
  }

  function abortProbe(s: Session, ws: WS) {
    if (s.probe !== ws) return;
    s.probe = null;
    s.probeAnswered = false;
    clearUpgrade(s);
  }

  /** `2probe` on the probing socket: answer `3probe`, then keep releasing the GET so the client can pause polling. */
  function answerProbe(s: Session, ws: WS) {
    if (s.probeAnswered) return void protocolError(s, "second probe", ws);
    ws.send(`${EIO.PONG}probe`);
    s.probeAnswered = true;
    const release = () => {
      if (s.poll && s.queue.length === 0) s.poll(EIO.NOOP);
    };
    release();
    s.upgradeTimers.push(setInterval(release, NOOP_EVERY_MS));
  }

  /** `5` on the probing socket: move every subscription from the sink to the ws, then flush. */
  function finishUpgrade(s: Session, ws: WS) {
    clearUpgrade(s);
    if (relays.has(ws)) {
      // Relayed: the sink stays subscribed and now writes to the relay; nothing moves in the hub.
      if (s.poll) s.poll(EIO.NOOP);
      s.transport = "websocket";
      s.relayed = true;
      s.ws = ws;
      s.probe = null;
      s.probeAnswered = false;
      for (const frame of s.queue) ws.send(frame);
      s.queue = [];
      s.queued = 0;
      s.conn.transport = "socketio";
      return;
    }
    const from = { sink: s.sink! };
    const to = { ws };
    const subs = subscriptionsOf(s.conn);
    for (const t of s.conn.topics ?? []) hub.unsubscribe(from, t);
    // Same topics, in the same order, now on the socket.
    s.conn.topics = subs.length ? subs.map((x) => hub.subscribe(to, SIO_FORMAT_ID, x.ns, x.room)) : null;
    // Frames buffered before the switch go first, in order, on the socket.
    if (s.poll) s.poll(EIO.NOOP);
    for (const frame of s.queue) ws.send(frame);
    s.queue = [];
    s.queued = 0;
    s.transport = "websocket";
    s.ws = ws;
    s.probe = null;
    s.probeAnswered = false;
    ws.data.state = { role: "main", session: s } satisfies SioWsState;
    s.conn.transport = "socketio";
    ctx.streams.delete(s.stream!);
    ctx.sockets.add(ws);
  }

  function close(s: Session, reason: string, code: number = CLOSE.NORMAL, kind: CloseKind = "server") {
    if (s.closed) return;
    s.closeKind = kind;
    releaseConn(hub, s.conn, subscriber(s));
    for (const ns in s.namespaces) releaseOwnRoom(ns, s.namespaces[ns]!);
    s.closed = true;
    clearUpgrade(s);
    all.delete(s.id);
    if (s.transport === "polling") {
      ctx.streams.delete(s.stream!);
      // A client that closed gets its waiting GET ended with a noop; otherwise the close packet
      // `1` ends it, or (closed by the server) waits TOMBSTONE_MS for the client's next GET.
      const last = kind === "client" ? EIO.NOOP : pollingPayload([...s.queue, EIO.CLOSE]);
      s.queue = [];
      if (s.poll) s.poll(last);
      else if (kind === "server") {
        tombstones.set(s.id, last);
        setTimeout(() => tombstones.delete(s.id), TOMBSTONE_MS).unref();
      }
    } else {
      ctx.sockets.delete(s.ws!);
      if (s.relayed) ctx.streams.delete(s.stream!);
      if (s.ws!.readyState === 1) s.ws!.close(code, closeReason(reason));
    }
    if (s.probe?.readyState === 1) s.probe.close(CLOSE.NORMAL, "session closed");
    ctx.log.debug(`socket.io session ${s.id} closed: ${reason}`);
  }

  function protocolError(s: Session, error: string, from: WS | null = null): boolean {
    metrics.inc("ws_emit_client_errors_total", { code: "bad_request" });
    ctx.log.debug(`socket.io session ${s.id}: protocol error: ${error}`);
    if (from !== null && s.probe === from) {
      abortProbe(s, from);
      from.close(CLOSE.PROTOCOL, "protocol error");
      return false;
    }
    close(s, `protocol error: ${error}`, CLOSE.PROTOCOL, "error");
    return true;
  }

  function packet(s: Session, text: string, from: WS | null) {
    if (s.closed) return;
    s.conn.lastSeen = Date.now();
    const p = parseEnginePacket(text);
    if (!p.ok) return p.unsupported ? onUnsupported(s, p.error) : void protocolError(s, p.error, from);
    const probing = from !== null && s.probe === from;
    const pk = p.value;
    switch (pk.type) {
      case "ping":
        if (probing && pk.data === "probe") return answerProbe(s, from);
        return void protocolError(s, "clients answer pings, they do not send them", from);
      case "upgrade":
        if (probing && s.probeAnswered) return finishUpgrade(s, from);
        return void protocolError(s, "unexpected upgrade packet", from);
      case "pong":
        if (s.awaitingPong) schedulePing(s);
        return;
      case "message":
        // Until `5`, the probing socket only carries probe packets.
        if (probing) return void protocolError(s, "message on a WebSocket that is still probing", from);
        return onMessage(s, pk.data);
      case "close":
        return close(s, "client closed", CLOSE.NORMAL, "client");
      case "noop":
        return;
      default: {
        const never: never = pk;
        return never;
      }
    }
  }

  return {
    open(conn, ws) {
      const id = idPrefix + Buffer.from(crypto.getRandomValues(new Uint8Array(15))).toString("base64url");
      const s: Session = {
        id,
        conn,
        transport: ws ? "websocket" : "polling",
        ws,
        relayed: false,
        probe: null,
        probeAnswered: false,
        queue: [],
        queued: 0,
        poll: null,
        sink: ws ? null : { send: (frame) => (s.relayed ? relaySend(s, frame) : enqueue(s, frame)) },
        stream: ws ? null : { end: (reason) => close(s, reason), transport: "polling" },
        namespaces: Object.create(null) as Record<string, string>,
        pingDue: 0,
        awaitingPong: false,
        upgradeTimers: [],
        backlog: null,
        connectDue: Date.now() + config.sioConnectTimeoutMs,
        closed: false,
        closeKind: null,
      };
      all.set(id, s);
      if (ws) ctx.sockets.add(ws);
      else ctx.streams.add(s.stream!);
      metrics.inc("ws_emit_connections_total", { transport: ws ? "socketio" : "polling" });
      schedulePing(s);
      return s;
    },
    get: (id) => all.get(id),
    takeTombstone(id) {
      const t = tombstones.get(id);
      tombstones.delete(id);
      return t;
    },
    send,
    packet,
    beginProbe,
    abortProbe,
    beginRelayProbe(s, relay) {
      // Only what the session uses of a WebSocket: send, close, readyState.
      const ws = {
        send: (d: string | Uint8Array) => (relay.send(d) ? 1 : 0),
        close: () => relay.close(),
        get readyState() {
          return relay.open ? 1 : 3;
        },
        data: { conn: s.conn, state: null },
      } as unknown as WS;
      relays.add(ws);
      beginProbe(s, ws);
      return ws;
    },
    subscriber,
    drainQueue,
    close,
    protocolError,
    get size() {
      return all.size;
    },
  };
}

/** A long-polling payload: packets joined by \x1e, a binary one as `b` + its base64 (Engine.IO v4). */
function pollingPayload(queue: ReadonlyArray<string | Uint8Array>): string {
  let out = "";
  for (let i = 0; i < queue.length; i++) {
    const p = queue[i]!;
    if (i > 0) out += RECORD_SEP;
    out += typeof p === "string" ? p : `b${Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("base64")}`;
  }
  return out;
}
