/** webdis-style clients at /.json: SUBSCRIBE/UNSUBSCRIBE/PING over JSON arrays. */
import { checkJoinFrom } from "../../../auth/join-limit.ts";
import { countBadFrame, countJoinFailure, createConn, joinRoom, leaveRoom, roomCount, roomsOf } from "../../../core/connection.ts";
import { CLOSE, type Ctx, type WS, type WsProtocol } from "../../../server/context.ts";
import { HttpError } from "../../../core/errors.ts";
import { queuedFrames } from "../../frame-queue.ts";
import { DEFAULT_NAMESPACE, MAX_ROOM_LENGTH } from "../../../core/rooms.ts";
import { clip } from "../../../core/bounds.ts";
import { encodeWebdisReply, parseWebdisFrame, WEBDIS_FORMAT_ID } from "./codec.ts";

const NS = DEFAULT_NAMESPACE;

interface WebdisState {
  /** The roomspace secret from `?secret=`, for private channels (SUBSCRIBE has no place for it). */
  secret: string | null;
}

export function upgradeWebdis(ctx: Ctx, req: Request, url: URL, proto: WsProtocol, ip: string): Response | undefined {
  const conn = createConn("webdis", ip, ctx.config);
  const state: WebdisState = { secret: url.searchParams.get("secret") };
  if (!ctx.server().upgrade(req, { data: { conn, proto, state } })) throw new HttpError(400, "bad_request", "expected a WebSocket upgrade request");
  return undefined;
}

export function createWebdisProtocol(ctx: Ctx): WsProtocol {
  const { hub, metrics, config } = ctx;

  async function subscribe(ws: WS, channels: string[]) {
    const conn = ws.data.conn;
    const { secret } = ws.data.state as WebdisState;
    for (const channel of channels) {
      const c = await checkJoinFrom(ctx, conn.ip, channel, secret);
      if (conn.closed) return;
      metrics.inc("ws_emit_joins_total", { result: c.ok ? "ok" : c.code });
      if (!c.ok) {
        metrics.inc("ws_emit_client_errors_total", { code: c.code });
        ws.send(encodeWebdisReply("SUBSCRIBE", [false, `${c.code}: ${c.message}`]));
        if (countJoinFailure(conn)) return ws.close(CLOSE.JOIN_FLOOD, "too many failed joins");
        continue;
      }
      if (!joinRoom(hub, conn, { ws }, WEBDIS_FORMAT_ID, NS, c.room, config.maxRoomsPerConnection)) {
        ws.send(encodeWebdisReply("SUBSCRIBE", [false, `too_many_rooms: at most ${config.maxRoomsPerConnection} channels per connection`]));
        continue;
      }
      ws.send(encodeWebdisReply("SUBSCRIBE", ["subscribe", c.room, roomCount(conn)]));
    }
  }

  const proto: WsProtocol = {
    open(ws) {
      ctx.sockets.add(ws);
      metrics.inc("ws_emit_connections_total", { transport: "webdis" });
    },
    ...queuedFrames(ctx, handleFrame, "too many frames while a SUBSCRIBE is checked"),
  };

  /** One command; a SUBSCRIBE waits for the secret store, so later commands queue behind it. */
  function handleFrame(ws: WS, data: string | Buffer): Promise<unknown> | void {
    const conn = ws.data.conn;
    if (conn.closed) return;
    const p = parseWebdisFrame(typeof data === "string" ? data : data.toString("utf8"));
    if (!p.ok) {
      metrics.inc("ws_emit_client_errors_total", { code: "bad_request" });
      // As webdis: a frame that is not JSON ends the connection.
      return ws.close(1007, p.error);
    }
    const c = p.value;
    switch (c.cmd) {
      case "SUBSCRIBE":
        return subscribe(ws, c.channels).catch((e) => ctx.log.error("webdis subscribe failed", e));
      case "UNSUBSCRIBE": {
        const channels = c.channels.length ? c.channels : roomsOf(conn, NS);
        // Redis answers a bare UNSUBSCRIBE with nothing subscribed by [unsubscribe, nil, 0].
        if (channels.length === 0) ws.send(encodeWebdisReply("UNSUBSCRIBE", ["unsubscribe", null, 0]));
        for (const ch of channels) {
          leaveRoom(hub, conn, { ws }, WEBDIS_FORMAT_ID, NS, ch);
          ws.send(encodeWebdisReply("UNSUBSCRIBE", ["unsubscribe", clip(ch, MAX_ROOM_LENGTH), roomCount(conn)]));
        }
        return;
      }
      case "PING":
        ws.send(encodeWebdisReply("PING", [true, "PONG"]));
        return;
      case "OTHER":
        metrics.inc("ws_emit_client_errors_total", { code: "unsupported" });
        ws.send(encodeWebdisReply(c.name, [false, "ws-emit serves only SUBSCRIBE (with channels), UNSUBSCRIBE and PING"]));
        if (countBadFrame(conn)) ws.close(CLOSE.BAD_FRAME_FLOOD, "too many unsupported commands");
        return;
      default: {
        const never: never = c;
        return never;
      }
    }
  }
  return proto;
}
