/**
 * Socket.IO connection state recovery (--history), as socket.io-client >= 4.6 speaks it with
 * no client option: the CONNECT answer carries a private `pid`, every room event carries its
 * position as an extra last argument (the client keeps the last one as its offset), and a
 * client that reconnects sends `{"pid":…,"offset":…}` in its CONNECT. If the session's record
 * is still there (any node, within --history-ttl) and the room history proves the gap
 * closed, the answer carries the same pid (so `socket.recovered === true`), the session has
 * its rooms back and gets what it missed, once, before live events (../resume-seam.ts).
 *
 * A session of one joined room (the common case) recovers exactly. With several rooms the one
 * offset a client keeps names a position in one of them only, so ws-emit does not claim a
 * recovery it cannot prove: `recovered` is false and the client joins again (docs/history.md).
 */
import { newSocketId, ownerOf } from "../../auth/own-rooms.ts";
import { joinRoom, roomsOf } from "../../core/connection.ts";
import { formatPosition, parsePosition, type Position } from "../../core/history-id.ts";
import { textOf, type Encoded } from "../../core/hub.ts";
import { sendEncoded } from "../../core/hub-frames.ts";
import type { SioRecord } from "../../engine/sio-sessions.ts";
import type { Ctx } from "../../server/context.ts";
import { atPosition, finishSeam, leftOut, openSeam, trackLiveTops } from "../resume-seam.ts";
import { encodeConnect, sioFormat, sioFrameOffset, SIO_FORMAT_ID } from "./codec.ts";
import type { Session, Sessions } from "./session.ts";

/** Sessions with a pid per namespace, and their records as last written. */
const live = new Map<Session, Record<string, { pid: string; rec: SioRecord }>>();

export interface Recovery {
  /** A namespace CONNECT with history on: recover (`auth` has a pid) or start a recoverable session. */
  connect(s: Session, ns: string, auth: unknown, setup: (sid: string) => void): Promise<void> | void;
  /** The session's rooms in `ns` changed (join, leave): write its record again. */
  roomsChanged(s: Session, ns: string, joined?: string): void;
  /** The client left `ns` (DISCONNECT packet): forget the record. */
  left(s: Session, ns: string): void;
}

export function createRecovery(ctx: Ctx, sessions: () => Sessions): Recovery {
  const { hub, metrics, config } = ctx;
  const history = ctx.engine.history!;
  const store = ctx.engine.sioSessions!;
  const log = (e: unknown) => ctx.log.warn(`socket.io recovery: ${(e as Error).message}`);
  trackLiveTops(hub);

  // Records of live sessions outlive their node by the window: touched a few times per window.
  const timer = setInterval(() => {
    const pids: string[] = [];
    for (const [s, byNs] of live) {
      if (s.closed) live.delete(s);
      else for (const ns in byNs) pids.push(byNs[ns]!.pid);
    }
    if (pids.length) store.touch(pids).catch(log);
  }, Math.max(1000, Math.floor(config.historyTtlMs / 3)));
  timer.unref();

  function deliver(s: Session, f: Encoded) {
    const sub = sessions().subscriber(s);
    if ("ws" in sub) sendEncoded(sub.ws, f);
    else sub.sink.send(f);
  }

  function remember(s: Session, ns: string, pid: string, rec: SioRecord) {
    let byNs = live.get(s);
    if (!byNs) live.set(s, (byNs = Object.create(null) as Record<string, { pid: string; rec: SioRecord }>));
    byNs[ns] = { pid, rec };
    store.put(pid, rec).catch(log);
  }

  function fresh(s: Session, ns: string, setup: (sid: string) => void, result: string) {
    metrics.inc("ws_emit_resumes_total", { transport: "socketio", result });
    const sid = newSocketId();
    const pid = newSocketId();
    setup(sid);
    sessions().send(s, encodeConnect(ns, sid, pid));
    remember(s, ns, pid, { sid, namespace: ns, rooms: [], positions: {} });
  }

  async function recover(s: Session, ns: string, pid: string, offset: unknown, setup: (sid: string) => void) {
    const rec = await store.take(pid).catch((e) => (log(e), null));
    if (s.closed || ns in s.namespaces) return;
    const room = rec?.rooms[0];
    let since: Position | null = null;
    let ok = rec !== null && rec.namespace === ns && rec.rooms.length <= 1;
    if (ok && room !== undefined) {
      // No offset: the client got no event since it joined; its position is the one at the join.
      const p = parsePosition(offset === undefined || offset === null ? rec!.positions[room] : offset);
      if (p.ok) since = p.value;
      else ok = false;
    }
    if (!ok) return fresh(s, ns, setup, rec ? "gap" : "unknown");
    const sid = ownerOf(ns, rec!.sid) ? newSocketId() : rec!.sid;
    if (room === undefined) {
      setup(sid);
      sessions().send(s, encodeConnect(ns, sid, pid));
      metrics.inc("ws_emit_resumes_total", { transport: "socketio", result: "recovered" });
      return remember(s, ns, pid, { ...rec!, sid });
    }
    // This node must get the room's live emits before the read, or the seam could miss one.
    await ctx.engine.prepareJoin?.(ns, room);
    if (s.closed || ns in s.namespaces) return;
    const seam = openSeam(hub, SIO_FORMAT_ID, ns, room, config.history + 10_000);
    const read = await history.read(ns, room, since).catch((e) => (log(e), null));
    const caught = seam.take();
    if (s.closed || ns in s.namespaces || !read || read.events === null || caught === null) {
      seam.end();
      if (s.closed || ns in s.namespaces) return;
      return fresh(s, ns, setup, "gap");
    }
    // The answer, the replay, what came meanwhile, then live (../resume-seam.ts).
    setup(sid);
    sessions().send(s, encodeConnect(ns, sid, pid));
    for (const e of read.events) {
      if (leftOut(e.msg, SIO_FORMAT_ID, (r) => r === room)) continue;
      deliver(s, sioFormat.encode(atPosition(e.msg, room, { epoch: read.top.epoch, offset: e.offset }), room));
    }
    metrics.inc("ws_emit_resumes_total", { transport: "socketio", result: "recovered" });
    remember(s, ns, pid, { sid, namespace: ns, rooms: [room], positions: { [room]: formatPosition(read.top) } });
    await finishSeam(hub, seam, caught, ns, room, read.top, {
      idOf: (f) => sioFrameOffset(textOf(f)),
      forward: (f) => void (!s.closed && deliver(s, f)),
      subscribe: () => void (!s.closed && joinRoom(hub, s.conn, sessions().subscriber(s), SIO_FORMAT_ID, ns, room, config.maxRoomsPerConnection)),
    });
  }

  return {
    connect(s, ns, auth, setup) {
      const r = recoveryOf(auth);
      if (!r) return fresh(s, ns, setup, "fresh");
      return recover(s, ns, r.pid, r.offset, setup);
    },
    left(s, ns) {
      const byNs = live.get(s);
      const mine = byNs?.[ns];
      if (!mine) return;
      delete byNs![ns];
      store.take(mine.pid).catch(log);
    },
    roomsChanged(s, ns, joined) {
      const mine = live.get(s)?.[ns];
      if (!mine || s.closed) return;
      const rooms = roomsOf(s.conn, ns).filter((r) => r !== mine.rec.sid);
      // Null prototype: a room may be named "__proto__".
      const positions = Object.create(null) as Record<string, string>;
      for (const r of rooms) if (mine.rec.positions[r] !== undefined) positions[r] = mine.rec.positions[r]!;
      const rec: SioRecord = { sid: mine.rec.sid, namespace: ns, rooms, positions };
      if (joined === undefined || rooms.length !== 1 || positions[joined] !== undefined) return remember(s, ns, mine.pid, rec);
      // Joined after subscribing: the top read now is at or after what the client has seen.
      history
        .read(ns, joined, null)
        .then((read) => {
          if (live.get(s)?.[ns] !== mine) return;
          rec.positions[joined] = formatPosition(read.top);
          remember(s, ns, mine.pid, rec);
        })
        .catch(log);
    },
  };
}

/** `pid` and `offset` from a CONNECT payload (client text: bounded). */
function recoveryOf(auth: unknown): { pid: string; offset: unknown } | null {
  if (typeof auth !== "object" || auth === null) return null;
  const { pid, offset } = auth as { pid?: unknown; offset?: unknown };
  if (typeof pid !== "string" || pid.length === 0 || pid.length > 64 || !/^[A-Za-z0-9_-]+$/.test(pid)) return null;
  return { pid, offset };
}
