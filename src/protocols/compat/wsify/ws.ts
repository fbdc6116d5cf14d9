/**
 * wsify clients on /ws. A /ws connection starts as native; its first frame shaped like a wsify
 * command (`{"command":…}`) switches it to this protocol for good. Successful commands get no
 * reply (as in wsify); refusals get an error frame, and an authorizer that is down closes the
 * socket with 1013 so the client reconnects later.
 */
import type { Authorizer } from "../../../auth/authorizer.ts";
import { checkJoinFrom } from "../../../auth/join-limit.ts";
import { countBadFrame, countJoinFailure, joinRoom, leaveRoom, resetConn } from "../../../core/connection.ts";
import { CLOSE, type Ctx, type WS, type WsProtocol } from "../../../server/context.ts";
import { queuedFrames } from "../../frame-queue.ts";
import { DEFAULT_NAMESPACE, parseRoom } from "../../../core/rooms.ts";
import { encodeError } from "../../native/codec.ts";
import { parseWsifyCommand, WSIFY_EVENT, WSIFY_FORMAT_ID, type WsifyCommand } from "./codec.ts";

export interface WsifyProtocol extends WsProtocol {
  /** Take over a native /ws connection whose frame `text` is a wsify command. */
  adopt(ws: WS, text: string): void;
}

export function createWsifyProtocol(ctx: Ctx, authorizer: Authorizer | null): WsifyProtocol {
  const { hub, metrics, config } = ctx;

  function refuse(ws: WS, code: string, message: string, channel?: string) {
    metrics.inc("ws_emit_client_errors_total", { code });
    ws.send(encodeError(code, message, channel));
  }

  async function run(ws: WS, cmd: WsifyCommand) {
    const conn = ws.data.conn;
    if (authorizer) {
      const verdict = await authorizer.check(cmd.raw);
      if (conn.closed) return;
      if (verdict === "down") return ws.close(CLOSE.TRY_AGAIN, "authorizer unavailable; reconnect later");
      if (verdict === "denied") {
        refuse(ws, "forbidden", `the authorizer refused ${cmd.command}`);
        if (countJoinFailure(conn)) ws.close(CLOSE.JOIN_FLOOD, "too many refused commands");
        return;
      }
    }
    switch (cmd.command) {
      case "join":
        for (const channel of cmd.channels) {
          const c = await checkJoinFrom(ctx, conn.ip, channel, cmd.secret);
          if (conn.closed) return;
          metrics.inc("ws_emit_joins_total", { result: c.ok ? "ok" : c.code });
          if (!c.ok) {
            refuse(ws, c.code, c.message, channel);
            if (countJoinFailure(conn)) return ws.close(CLOSE.JOIN_FLOOD, "too many failed joins");
            continue;
          }
          if (!joinRoom(hub, conn, { ws }, WSIFY_FORMAT_ID, DEFAULT_NAMESPACE, c.room, config.maxRoomsPerConnection))
            refuse(ws, "too_many_rooms", `at most ${config.maxRoomsPerConnection} channels per connection`, channel);
        }
        return;
      case "leave":
        for (const channel of cmd.channels) leaveRoom(hub, conn, { ws }, WSIFY_FORMAT_ID, DEFAULT_NAMESPACE, channel);
        return;
      case "broadcast": {
        // ws-emit is one-way by default: a browser may only publish when an authorizer vouches for it.
        if (!authorizer) return refuse(ws, "forbidden", "client broadcast needs --authorizer-url on the server");
        const rooms: string[] = [];
        for (const channel of cmd.channels) {
          const r = parseRoom(channel);
          if (!r.ok) return refuse(ws, "bad_request", r.error, channel);
          rooms.push(r.room);
        }
        await ctx.engine.publish({ event: WSIFY_EVENT, args: [cmd.content], namespace: DEFAULT_NAMESPACE, rooms }, "wsify");
        metrics.inc("ws_emit_events_in_total", { source: "wsify" });
        return;
      }
      default: {
        const never: never = cmd;
        return never;
      }
    }
  }

  const proto: WsifyProtocol = {
    adopt(ws, text) {
      resetConn(hub, ws.data.conn, { ws });
      ws.data.conn.transport = "wsify";
      ws.data.proto = proto;
      proto.message(ws, text);
    },
    open() {
      // Never opened directly: connections arrive through adopt().
    },
    ...queuedFrames(ctx, handleFrame, "too many frames while a command is checked"),
  };

  /** One command; commands wait for the authorizer and the secret store, so later ones queue behind. */
  function handleFrame(ws: WS, data: string | Buffer): Promise<unknown> | void {
    if (ws.data.conn.closed) return;
    let x: unknown;
    try {
      x = typeof data === "string" ? JSON.parse(data) : undefined;
    } catch {}
    // Answers to the fork's {"type":"ping"} heartbeat (and pings of their own) are not commands.
    const type = typeof x === "object" && x !== null ? (x as { type?: unknown }).type : undefined;
    if (type === "pong") return;
    if (type === "ping") return void ws.sendText('{"type":"pong"}');
    const p = parseWsifyCommand(x);
    if (!p.ok) {
      refuse(ws, "bad_request", typeof data === "string" ? p.error : "send JSON as text frames");
      if (countBadFrame(ws.data.conn)) ws.close(CLOSE.BAD_FRAME_FLOOD, "too many malformed frames");
      return;
    }
    return run(ws, p.value).catch((e) => {
      ctx.log.error("wsify command failed", e);
      refuse(ws, "internal", "command failed");
    });
  }
  return proto;
}
