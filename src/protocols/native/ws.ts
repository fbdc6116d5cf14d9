/** The native protocol's WebSocket side: upgrade at /ws, join/leave/ping handling. */
import { checkJoin, joinRefused } from "../../auth/rooms.ts";
import { countBadFrame, countJoinFailure, createConn, joinBroadcast, joinRoom, leaveRoom } from "../../core/connection.ts";
import { CLOSE, type Ctx, type WS, type WsProtocol } from "../../server/context.ts";
import { HttpError } from "../../core/errors.ts";
import { queuedFrames } from "../frame-queue.ts";
import { DEFAULT_NAMESPACE, parseRoom } from "../../core/rooms.ts";
import { encodeError, encodeReply, NATIVE_FORMAT_ID, parseClientFrame } from "./codec.ts";
import { isWsifyFrame } from "../compat/wsify/codec.ts";

const NS = DEFAULT_NAMESPACE;

/** Validate `?room=…&secret=…` (or `&token=…`) and upgrade. Errors are HTTP errors before the upgrade. */
export async function upgradeNative(ctx: Ctx, req: Request, url: URL, proto: WsProtocol, ip: string): Promise<Response | undefined> {
  const rooms = url.searchParams.getAll("room");
  if (rooms.length > ctx.config.maxRoomsPerConnection)
    throw new HttpError(400, "too_many_rooms", `at most ${ctx.config.maxRoomsPerConnection} rooms per connection`);
  const secret = url.searchParams.get("secret");
  const token = url.searchParams.get("token");
  let sub: string | null = null; // presence (issue 15): the token's subject
  for (const room of rooms) {
    const c = await checkJoin(ctx.engine, room, secret, token);
    if (!c.ok) {
      ctx.metrics.inc("ws_emit_joins_total", { result: c.code });
      throw joinRefused(c);
    }
    sub ??= c.sub ?? null;
  }
  const conn = createConn("native", ip, ctx.config);
  conn.sub = sub;
  const ok = ctx.server().upgrade(req, { data: { conn, proto, state: rooms } });
  if (!ok) throw new HttpError(400, "bad_request", "expected a WebSocket upgrade request");
  return undefined;
}

/** @param wsify takes over a connection whose frames are wsify commands (same /ws path). */
export function createNativeProtocol(ctx: Ctx, wsify?: { adopt(ws: WS, x: unknown): void }): WsProtocol {
  const { hub, metrics, config } = ctx;

  function fail(ws: WS, code: string, message: string, room?: unknown, id?: unknown, reason?: string) {
    metrics.inc("ws_emit_client_errors_total", { code });
    ws.send(encodeError(code, message, room, id, reason));
  }

  function badFrame(ws: WS, message: string, id?: unknown) {
    fail(ws, "bad_request", message, undefined, id);
    if (countBadFrame(ws.data.conn)) ws.close(CLOSE.BAD_FRAME_FLOOD, "too many malformed frames");
  }

  async function join(ws: WS, room: unknown, secret: unknown, token: unknown, id: unknown) {
    const conn = ws.data.conn;
    const c = await checkJoin(ctx.engine, room, secret, token);
    if (conn.closed) return;
    metrics.inc("ws_emit_joins_total", { result: c.ok ? "ok" : c.code });
    if (!c.ok) {
      fail(ws, c.code, c.message, room, id, c.reason);
      if (countJoinFailure(conn)) ws.close(CLOSE.JOIN_FLOOD, "too many failed joins");
      return;
    }
    conn.sub ??= c.sub ?? null; // presence (issue 15)
    if (!joinRoom(hub, conn, { ws }, NATIVE_FORMAT_ID, NS, c.room, config.maxRoomsPerConnection)) {
      fail(ws, "too_many_rooms", `at most ${config.maxRoomsPerConnection} rooms per connection`, room, id);
      return;
    }
    ws.send(encodeReply("joined", c.room, id));
  }


  const proto: WsProtocol = {
    open(ws) {
      const { conn } = ws.data;
      ctx.sockets.add(ws);
      metrics.inc("ws_emit_connections_total", { transport: "native" });
      joinBroadcast(hub, conn, { ws }, NATIVE_FORMAT_ID, NS);
      for (const room of ws.data.state as string[]) {
        joinRoom(hub, conn, { ws }, NATIVE_FORMAT_ID, NS, room, config.maxRoomsPerConnection);
        metrics.inc("ws_emit_joins_total", { result: "ok" });
        ws.send(encodeReply("joined", room, undefined));
      }
      ws.data.state = null;
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
      if (isWsifyFrame(x)) return wsify.adopt(ws, x);
    }
    const f = parseClientFrame(data);
    if (!f.ok) return badFrame(ws, f.error, f.id);
    const frame = f.value;
    switch (frame.type) {
      case "join":
        return join(ws, frame.room, frame.secret, frame.token, frame.id).catch((e) => {
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
