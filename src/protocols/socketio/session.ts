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
import { releaseConn, subscriptionsOf } from "../../core/connection.ts";
import { CLOSE, type Ctx, type WS } from "../../server/context.ts";
import type { Encoded, Subscriber } from "../../core/hub.ts";
import { EIO, RECORD_SEP, SIO_FORMAT_ID, parseEnginePacket } from "./codec.ts";
import { closeReason } from "../../core/bounds.ts";

import type { CloseKind, RelaySocket, Session, Sessions, SioWsState } from "./session-types.ts";

export type { CloseKind, RelaySocket, Session, Sessions, SioWsState } from "./session-types.ts";

/** How long a probing WebSocket may take to send `5` (engine.io's upgradeTimeout). */
const UPGRADE_TIMEOUT_MS = 10_000;
/** While probing, a waiting GET is released with a noop this often so the client can pause polling. */
const NOOP_EVERY_MS = 100;
/** How long a closed polling session keeps its last packets for the client's next GET. */
const TOMBSTONE_MS = 10_000;

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
