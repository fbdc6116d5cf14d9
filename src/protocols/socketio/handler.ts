/**
 * Socket.IO level of a session: namespace CONNECT/DISCONNECT, `join` / `leave` events with
 * acks, flood limits. Transport-agnostic: it talks to the client through `Sessions.send`.
 *
 *   → 40 | 40/ns,            ← 40{"sid":…} | 40/ns,{"sid":…}
 *   → 42N["join",{"room":"dir::a","secret":"S"}]   ← 43N[{"ok":true}] | 43N[{"ok":false,"error":"forbidden",…}]
 *   → 42["leave",{"room":"time"}]                  (no ack id: no answer)
 *   → 41 | 41/ns,            leaves the namespace's rooms
 */
import { newSocketId, ownerOf, releaseOwnRoom, reserveOwnRoom } from "../../auth/own-rooms.ts";
import { checkJoinFrom } from "../../auth/join-limit.ts";
import { countBadFrame, countJoinFailure, dropTopic, joinBroadcast, joinRoom, leaveRoom, roomsOf } from "../../core/connection.ts";
import { CLOSE, type Ctx } from "../../server/context.ts";
import { topicOf } from "../../core/hub.ts";
import { parseNamespace, parseRoom } from "../../core/rooms.ts";
import type { Session, Sessions } from "./session.ts";
import { createRecovery } from "./recovery.ts";
import { encodeAck, encodeConnect, encodeConnectError, encodeDisconnect, parseClientEvent, parseSioPacket, SIO_FORMAT_ID } from "./codec.ts";

/** Namespaces one client may be connected to at once. */
export const MAX_NAMESPACES = 32;
/** Packets a client may send while one of its joins is still being checked. */
export const MAX_BACKLOG = 256;

export interface SioHandler {
  message(s: Session, data: string): void;
  /** A valid packet the application refuses or does not take: counted, and a flood closes the session. */
  badPacket(s: Session, error: string): void;
}

export function createSioHandler(ctx: Ctx, sessions: () => Sessions): SioHandler {
  const { hub, metrics, config } = ctx;
  // A client's own room (its socket id) is served directly, not as a topic.
  hub.directRooms(SIO_FORMAT_ID, (ns, room) => ownerOf(ns, room)?.target());
  // --history: connection state recovery (./recovery.ts).
  const recovery = ctx.engine.history && ctx.engine.sioSessions ? createRecovery(ctx, sessions) : null;

  function kick(s: Session, reason: string, code: number) {
    // `41` per namespace first: socket.io-client then reports "io server disconnect" and does not reconnect.
    for (const ns of Object.keys(s.namespaces)) sessions().send(s, encodeDisconnect(ns));
    sessions().close(s, reason, code);
  }

  /** A well-formed packet the application refuses (a join without a room…): counted, and a flood closes the session. */
  function badPacket(s: Session, error: string) {
    metrics.inc("ws_emit_client_errors_total", { code: "bad_request" });
    ctx.log.debug(`socket.io session ${s.id}: bad packet: ${error}`);
    if (countBadFrame(s.conn)) kick(s, "too many malformed packets", CLOSE.BAD_FRAME_FLOOD);
  }

  function ack(s: Session, ns: string, id: number | null, body: Record<string, unknown>) {
    if (id !== null) sessions().send(s, encodeAck(ns, id, [body]));
  }

  function refuse(s: Session, ns: string, id: number | null, code: string, message: string, reason?: string) {
    metrics.inc("ws_emit_client_errors_total", { code });
    ack(s, ns, id, reason ? { ok: false, error: code, reason, message } : { ok: false, error: code, message });
  }

  async function join(s: Session, ns: string, id: number | null, room: unknown, secret: unknown, token: unknown) {
    const c = await checkJoinFrom(ctx, s.conn.ip, room, secret, token, ns);
    if (s.closed || !(ns in s.namespaces)) return;
    metrics.inc("ws_emit_joins_total", { result: c.ok ? "ok" : c.code });
    if (!c.ok) {
      refuse(s, ns, id, c.code, c.message, c.reason);
      if (countJoinFailure(s.conn)) kick(s, "too many failed joins", CLOSE.JOIN_FLOOD);
      return;
    }
    s.conn.sub ??= c.sub ?? null; // presence (issue 15)
    // Own rooms (one per connected namespace) do not count against --max-rooms.
    if (!joinRoom(hub, s.conn, sessions().subscriber(s), SIO_FORMAT_ID, ns, c.room, config.maxRoomsPerConnection))
      return refuse(s, ns, id, "too_many_rooms", `at most ${config.maxRoomsPerConnection} rooms per connection`);
    ack(s, ns, id, { ok: true });
    recovery?.roomsChanged(s, ns, c.room);
  }

  /**
   * Joins wait for the secret store, yet a client's packets must apply in the order sent
   * (`join` then `leave` in one polling payload must end outside the room). While a join is
   * in flight, later packets wait in the session's backlog and run when it is done.
   */
  function startJoin(s: Session, ns: string, id: number | null, room: unknown, secret: unknown, token: unknown) {
    exclusive(
      s,
      join(s, ns, id, room, secret, token).catch((err) => {
        ctx.log.error("socket.io join failed", err);
        refuse(s, ns, id, "internal", "join failed");
      }),
    );
  }

  /** Later packets of `s` wait until `work` is done (a join, a recovering CONNECT). */
  function exclusive(s: Session, work: Promise<void>) {
    s.backlog = [];
    work
      .catch((err) => ctx.log.error("socket.io packet failed", err))
      .finally(() => {
        const waiting = s.backlog ?? [];
        s.backlog = null;
        for (let i = 0; i < waiting.length; i++) {
          if (s.closed) return;
          handle(s, waiting[i]!);
          // That packet started another join: the rest waits for it.
          const again = s.backlog as string[] | null;
          if (again !== null) {
            again.push(...waiting.slice(i + 1));
            return;
          }
        }
      });
  }

  function connect(s: Session, nsp: string, auth: unknown) {
    const n = parseNamespace(nsp);
    if (!n.ok) return sessions().send(s, encodeConnectError(nsp, "Invalid namespace"));
    let sid = s.namespaces[n.ns];
    if (sid === undefined && Object.keys(s.namespaces).length >= MAX_NAMESPACES) return sessions().send(s, encodeConnectError(n.ns, `at most ${MAX_NAMESPACES} namespaces per connection`));
    if (sid === undefined && recovery) {
      const work = recovery.connect(s, n.ns, auth, (id) => setupNamespace(s, n.ns, id));
      if (work) exclusive(s, work);
      return;
    }
    if (sid === undefined) {
      sid = newSocketId();
      setupNamespace(s, n.ns, sid);
      // With Redis, emits to the new socket id from other nodes arrive once its partition is
      // subscribed: the CONNECT reply (which tells the client its id) waits for that.
      const wait = ctx.engine.prepareJoin?.(n.ns, sid);
      if (wait) {
        const ns = n.ns;
        const own = sid;
        exclusive(
          s,
          wait.then(() => {
            if (!s.closed && s.namespaces[ns] === own) sessions().send(s, encodeConnect(ns, own));
          }),
        );
        return;
      }
    }
    sessions().send(s, encodeConnect(n.ns, sid));
  }

  /** Enter namespace `ns` as socket `sid`: its broadcasts, and its own room. */
  function setupNamespace(s: Session, ns: string, sid: string) {
    {
      s.namespaces[ns] = sid;
      // Every client gets the namespace's emits that name no room, and those to its own room.
      joinBroadcast(hub, s.conn, sessions().subscriber(s), SIO_FORMAT_ID, ns);
      const own = sid;
      reserveOwnRoom(ns, sid, {
        target: () => sessions().subscriber(s),
        disconnect() {
          sessions().send(s, encodeDisconnect(ns));
          disconnect(s, ns);
        },
        // Its own room it is in already (directly): a topic as well would deliver twice.
        enter: (room) => s.closed || room === own || joinRoom(hub, s.conn, sessions().subscriber(s), SIO_FORMAT_ID, ns, room, config.maxRoomsPerConnection),
        leave(room) {
          if (!s.closed && room !== own) leaveRoom(hub, s.conn, sessions().subscriber(s), SIO_FORMAT_ID, ns, room);
        },
      });
    }
  }

  function disconnect(s: Session, ns: string) {
    const sid = s.namespaces[ns];
    if (sid === undefined) return;
    delete s.namespaces[ns];
    releaseOwnRoom(ns, sid);
    // Left on purpose: nothing to recover (as Socket.IO keeps no session for this reason).
    recovery?.left(s, ns);
    const sub = sessions().subscriber(s);
    for (const room of roomsOf(s.conn, ns)) leaveRoom(hub, s.conn, sub, SIO_FORMAT_ID, ns, room);
    dropTopic(hub, s.conn, sub, topicOf(SIO_FORMAT_ID, ns, null));
  }

  function handle(s: Session, data: string) {
    const p = parseSioPacket(data);
    if (!p.ok) {
      // Binary attachments are valid Socket.IO we do not take: refused like a bad join, with an ack.
      if (p.unsupported) {
        if (p.ack && p.ack.nsp in s.namespaces) ack(s, p.ack.nsp, p.ack.id, { ok: false, error: "bad_request", message: p.error });
        return badPacket(s, p.error);
      }
      // Anything else that does not parse breaks the protocol: the reference server closes.
      return void sessions().protocolError(s, p.error);
    }
    const pk = p.value;
    // The reference server closes a connection whose packet names a namespace it has not
    // connected (`42[…]` before `40`): only CONNECT opens one.
    if (pk.type !== "connect" && !(pk.nsp in s.namespaces)) return void sessions().protocolError(s, `${pk.type} for namespace ${pk.nsp.slice(0, 100)} before connecting it`);
    switch (pk.type) {
      case "connect":
        return connect(s, pk.nsp, pk.auth);
      case "disconnect":
        return disconnect(s, pk.nsp);
      case "ack":
        return; // we never ask the client for acks
      case "event": {
        const e = parseClientEvent(pk.event, pk.args);
        if (!e.ok) {
          ack(s, pk.nsp, pk.id, { ok: false, error: "bad_request", message: e.error });
          return badPacket(s, e.error);
        }
        const ev = e.value;
        switch (ev.kind) {
          case "join":
            return startJoin(s, pk.nsp, pk.id, ev.room, ev.secret, ev.token);
          case "leave": {
            const r = parseRoom(ev.room);
            if (!r.ok) {
              ack(s, pk.nsp, pk.id, { ok: false, error: "bad_request", message: r.error });
              return badPacket(s, r.error);
            }
            leaveRoom(hub, s.conn, sessions().subscriber(s), SIO_FORMAT_ID, pk.nsp, r.room);
            recovery?.roomsChanged(s, pk.nsp);
            return ack(s, pk.nsp, pk.id, { ok: true });
          }
          case "other":
            return; // unknown events are ignored, as a Socket.IO server without a handler does
          default: {
            const never: never = ev;
            return never;
          }
        }
      }
      default: {
        const never: never = pk;
        return never;
      }
    }
  }

  return {
    badPacket,
    message(s, data) {
      if (s.backlog === null) return handle(s, data);
      if (s.backlog.length >= MAX_BACKLOG) return kick(s, "too many packets while a join is checked", CLOSE.BAD_FRAME_FLOOD);
      s.backlog.push(data);
    },
  };
}
