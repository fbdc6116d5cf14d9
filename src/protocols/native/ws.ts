/** The native protocol's WebSocket side: upgrade at /ws, join/leave/ping handling. */
import { admitUrlRooms, checkJoinFrom } from "../../auth/join-limit.ts";
import { countBadFrame, countJoinFailure, createConn, joinBroadcast, joinRoom, leaveRoom, roomCount, roomsOf } from "../../core/connection.ts";
import { CLOSE, type Ctx, type WS, type WsProtocol } from "../../server/context.ts";
import { HttpError } from "../../core/errors.ts";
import { queuedFrames } from "../frame-queue.ts";
import { DEFAULT_NAMESPACE, parseRoom } from "../../core/rooms.ts";
import { encodeError, encodeReply, NATIVE_FORMAT_ID, nativeFormat, parseClientFrame } from "./codec.ts";
import { formatPosition, parsePosition, type Position } from "../../core/history-id.ts";
import { atPosition, finishSeam, leftOut, nativeFrameId, openSeam, trackLiveTops } from "../resume-seam.ts";
import { topicOf } from "../../core/hub.ts";
import { isWsifyFrame } from "../compat/wsify/codec.ts";

const NS = DEFAULT_NAMESPACE;

/** Validate `?room=…&secret=…` (or `&token=…`) and upgrade. Errors are HTTP errors before the upgrade. */
export async function upgradeNative(ctx: Ctx, req: Request, url: URL, proto: WsProtocol, ip: string): Promise<Response | undefined> {
  const rooms = url.searchParams.getAll("room");
  if (rooms.length > ctx.config.maxRoomsPerConnection)
    throw new HttpError(400, "too_many_rooms", `at most ${ctx.config.maxRoomsPerConnection} rooms per connection`);
  // history: `since=<id>` per room, in the order of the `room` parameters (docs/history.md).
  const sinces = url.searchParams.getAll("since");
  if (sinces.length > rooms.length) throw new HttpError(400, "bad_request", 'more "since" than "room" parameters: give one per room, in order');
  for (const x of sinces)
    if (x !== "" && !parsePosition(x).ok) throw new HttpError(400, "bad_request", '"since" must be an event id ("<epoch>-<offset>") or empty');
  const secret = url.searchParams.get("secret");
  const token = url.searchParams.get("token");
  const sub = await admitUrlRooms(ctx, ip, rooms, secret, token); // sub: the token's subject (presence)
  const conn = createConn("native", ip, ctx.config);
  conn.sub = sub;
  const state: NativeOpenState = { rooms, sinces };
  const ok = ctx.server().upgrade(req, { data: { conn, proto, state } });
  if (!ok) throw new HttpError(400, "bad_request", "expected a WebSocket upgrade request");
  return undefined;
}

/** What the upgrade hands to open(): the rooms of the URL, and each one's `since` (history). */
interface NativeOpenState {
  rooms: string[];
  sinces: string[];
}

/** @param wsify takes over a connection whose frames are wsify commands (same /ws path). */
export function createNativeProtocol(ctx: Ctx, wsify?: { adopt(ws: WS, text: string): void }): WsProtocol {
  const { hub, metrics, config } = ctx;
  if (ctx.engine.history) trackLiveTops(hub);

  function fail(ws: WS, code: string, message: string, room?: unknown, id?: unknown, reason?: string) {
    metrics.inc("ws_emit_client_errors_total", { code });
    ws.send(encodeError(code, message, room, id, reason));
  }

  function badFrame(ws: WS, message: string, id?: unknown) {
    fail(ws, "bad_request", message, undefined, id);
    if (countBadFrame(ws.data.conn)) ws.close(CLOSE.BAD_FRAME_FLOOD, "too many malformed frames");
  }

  async function join(ws: WS, room: unknown, secret: unknown, token: unknown, id: unknown, since: unknown) {
    const conn = ws.data.conn;
    let sincePos: Position | null = null;
    if (since !== undefined && since !== null) {
      const p = parsePosition(since);
      if (!p.ok) return badFrame(ws, `"since": ${p.error}`, id);
      sincePos = p.value;
    }
    const c = await checkJoinFrom(ctx, conn.ip, room, secret, token);
    if (conn.closed) return;
    metrics.inc("ws_emit_joins_total", { result: c.ok ? "ok" : c.code });
    if (!c.ok) {
      fail(ws, c.code, c.message, room, id, c.reason);
      if (countJoinFailure(conn)) ws.close(CLOSE.JOIN_FLOOD, "too many failed joins");
      return;
    }
    conn.sub ??= c.sub ?? null; // presence (issue 15)
    if (ctx.engine.history) return joinWithHistory(ws, c.room, sincePos, id);
    if (!joinRoom(hub, conn, { ws }, NATIVE_FORMAT_ID, NS, c.room, config.maxRoomsPerConnection)) {
      fail(ws, "too_many_rooms", `at most ${config.maxRoomsPerConnection} rooms per connection`, room, id);
      return;
    }
    // Without history a client that asked to resume is told it was not.
    ws.send(encodeReply("joined", c.room, id, sincePos ? { recovered: false } : undefined));
  }

  /**
   * --history: join `room` (already authorized) and send, in this order, `joined` (with
   * `recovered` when `since` was given, and the room's `position`), the events missed since
   * `since`, the live events that came during the read, then live. See ../resume-seam.ts.
   */
  async function joinWithHistory(ws: WS, room: string, since: Position | null, id: unknown) {
    const conn = ws.data.conn;
    const history = ctx.engine.history!;
    if (conn.topics?.includes(topicOf(NATIVE_FORMAT_ID, NS, room))) {
      ws.send(encodeReply("joined", room, id));
      return;
    }
    if (roomCount(conn) >= config.maxRoomsPerConnection) {
      fail(ws, "too_many_rooms", `at most ${config.maxRoomsPerConnection} rooms per connection`, room, id);
      return;
    }
    // This node must get the room's live emits before the read, or the seam could miss one.
    await ctx.engine.prepareJoin?.(NS, room);
    if (conn.closed) return;
    const seam = openSeam(hub, NATIVE_FORMAT_ID, NS, room, config.history + 10_000);
    let read;
    try {
      read = await history.read(NS, room, since);
    } catch (e) {
      seam.end();
      metrics.inc("ws_emit_history_errors_total", { op: "read" });
      fail(ws, "unavailable", `room history unreachable: ${(e as Error).message}`, room, id);
      return;
    }
    // Caught so far; the seam stays open (piped) until live delivery reaches the replay's top.
    const caught = seam.take();
    if (conn.closed) return void seam.end();
    // Joined meanwhile by another path (a `join` frame for a room of the URL): already live.
    if (conn.topics?.includes(topicOf(NATIVE_FORMAT_ID, NS, room))) {
      seam.end();
      ws.send(encodeReply("joined", room, id));
      return;
    }
    if (caught === null) {
      seam.end();
      // More live events came during the read than it could hold: start over elsewhere.
      ws.close(CLOSE.TRY_AGAIN, "too many events while resuming");
      return;
    }
    metrics.inc("ws_emit_resumes_total", { transport: "native", result: since === null ? "fresh" : read.events ? "recovered" : "gap" });
    ws.send(encodeReply("joined", room, id, { recovered: since === null ? undefined : read.events !== null, position: formatPosition(read.top) }));
    const mine = new Set([...roomsOf(conn, NS), room]);
    for (const e of read.events ?? []) {
      if (leftOut(e.msg, NATIVE_FORMAT_ID, (r) => mine.has(r))) continue;
      ws.send(nativeFormat.encode(atPosition(e.msg, room, { epoch: read.top.epoch, offset: e.offset }), room));
    }
    // Later frames of this client wait until then (leave, join), so they apply in order.
    // The client starts after `position` (replayed up to it, or a fresh start there): live frames
    // at or before it are left out, those after it are sent, whichever way they come.
    await finishSeam(hub, seam, caught, NS, room, read.top, {
      idOf: (f) => nativeFrameId(typeof f === "string" ? f : f.parts[0]),
      forward: (f) => void (!conn.closed && ws.send(typeof f === "string" ? f : f.parts[0])),
      subscribe: () => void (!conn.closed && joinRoom(hub, conn, { ws }, NATIVE_FORMAT_ID, NS, room, config.maxRoomsPerConnection)),
    });
  }


  const proto: WsProtocol = {
    open(ws) {
      const { conn } = ws.data;
      ctx.sockets.add(ws);
      metrics.inc("ws_emit_connections_total", { transport: "native" });
      joinBroadcast(hub, conn, { ws }, NATIVE_FORMAT_ID, NS);
      const { rooms, sinces } = ws.data.state as NativeOpenState;
      ws.data.state = null;
      if (ctx.engine.history) {
        for (let i = 0; i < rooms.length; i++) {
          metrics.inc("ws_emit_joins_total", { result: "ok" });
          const since = sinces[i] ? parsePosition(sinces[i]) : null;
          joinWithHistory(ws, rooms[i]!, since?.ok ? since.value : null, undefined).catch((e) => ctx.log.error("join failed", e));
        }
        return;
      }
      for (const room of rooms) {
        joinRoom(hub, conn, { ws }, NATIVE_FORMAT_ID, NS, room, config.maxRoomsPerConnection);
        metrics.inc("ws_emit_joins_total", { result: "ok" });
        // A client that asked to resume is told it was not (history is off).
        ws.send(encodeReply("joined", room, undefined, sinces.length > rooms.indexOf(room) && sinces[rooms.indexOf(room)] ? { recovered: false } : undefined));
      }
    },
    ...queuedFrames(ctx, handleFrame, "too many frames while a join is checked"),
  };

  /** One client frame; returns a promise while a join is being checked (later frames wait). */
  function handleFrame(ws: WS, data: string | Buffer): Promise<unknown> | void {
    if (ws.data.conn.closed) return;
    // Adopted by wsify while this frame waited: it is wsify's now.
    if (ws.data.proto !== proto) return ws.data.proto.message(ws, data);
    if (typeof data !== "string") return badFrame(ws, "send JSON as text frames");
    if (wsify && data.includes('"command"')) {
      let x: unknown;
      try {
        x = JSON.parse(data);
      } catch {}
      // The frame's own text goes on: re-serialising the parsed value would recurse once per level.
      if (isWsifyFrame(x)) return wsify.adopt(ws, data);
    }
    const f = parseClientFrame(data);
    if (!f.ok) return badFrame(ws, f.error, f.id);
    const frame = f.value;
    switch (frame.type) {
      case "join":
        return join(ws, frame.room, frame.secret, frame.token, frame.id, frame.since).catch((e) => {
          ctx.log.error("join failed", e);
          fail(ws, "internal", "join failed", frame.room, frame.id);
        });
      case "leave": {
        const r = parseRoom(frame.room);
        if (!r.ok) return badFrame(ws, r.error, frame.id);
        // Leaving a room one is not in is harmless: answer "left" all the same.
        leaveRoom(hub, ws.data.conn, { ws }, NATIVE_FORMAT_ID, NS, r.room);
        ws.send(encodeReply("left", r.room, frame.id));
        return;
      }
      case "ping":
        ws.send(encodeReply("pong", undefined, frame.id));
        return;
      default: {
        const never: never = frame;
        return never;
      }
    }
  }
  return proto;
}
