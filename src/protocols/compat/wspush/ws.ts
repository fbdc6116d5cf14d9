/** wspush clients: `/wspush?token=Foo` (WebSocket). Read-only: client frames are ignored, as in wspush. */
import { createConn, joinRoom, releaseConn } from "../../../core/connection.ts";
import type { Ctx, WS, WsProtocol } from "../../../server/context.ts";
import { HttpError } from "../../../core/errors.ts";
import { DEFAULT_NAMESPACE } from "../../../core/rooms.ts";
import { checkWspushToken, decodeKey, roomOfToken, WSPUSH_FORMAT_ID } from "./codec.ts";

export interface WspushGate {
  /** Validate the request's token and reserve a per-token slot; throws HttpError. */
  admit(url: URL): string;
  release(token: string): void;
}

export function createWspushGate(ctx: Ctx): WspushGate {
  const key = ctx.config.wspushKey ? decodeKey(ctx.config.wspushKey) : null;
  const perToken = new Map<string, number>();
  return {
    admit(url) {
      const t = checkWspushToken(url.searchParams.get("token"), key);
      if (!t.ok) throw new HttpError(400, "bad_token", t.error);
      const n = perToken.get(t.token) ?? 0;
      if (n >= ctx.config.wspushMaxPerToken) {
        ctx.metrics.inc("ws_emit_connections_refused_total", { reason: "per_token_cap" });
        throw new HttpError(429, "too_many_connections", `at most ${ctx.config.wspushMaxPerToken} connections per token`, { "Retry-After": "5" });
      }
      perToken.set(t.token, n + 1);
      return t.token;
    },
    release(token) {
      const n = (perToken.get(token) ?? 1) - 1;
      if (n <= 0) perToken.delete(token);
      else perToken.set(token, n);
    },
  };
}

export function upgradeWspush(ctx: Ctx, req: Request, proto: WsProtocol, gate: WspushGate, token: string, ip: string): undefined | Promise<undefined> {
  // With Redis: the token's room partition is subscribed before the socket opens (join → subscribe → deliver).
  const wait = ctx.engine.prepareJoin?.(DEFAULT_NAMESPACE, roomOfToken(token));
  return wait ? wait.then(() => upgradeNow(ctx, req, proto, gate, token, ip)) : upgradeNow(ctx, req, proto, gate, token, ip);
}

function upgradeNow(ctx: Ctx, req: Request, proto: WsProtocol, gate: WspushGate, token: string, ip: string): undefined {
  const conn = createConn("wspush", ip, ctx.config);
  if (!ctx.server().upgrade(req, { data: { conn, proto, state: token } })) {
    gate.release(token);
    throw new HttpError(400, "bad_request", "expected a WebSocket upgrade (or Accept: text/event-stream)");
  }
  return undefined;
}

export function createWspushProtocol(ctx: Ctx, gate: WspushGate): WsProtocol {
  return {
    open(ws: WS) {
      ctx.sockets.add(ws);
      ctx.metrics.inc("ws_emit_connections_total", { transport: "wspush" });
      // A token is a capability: joining its room needs no further check (and no room cap).
      joinRoom(ctx.hub, ws.data.conn, { ws }, WSPUSH_FORMAT_ID, DEFAULT_NAMESPACE, roomOfToken(ws.data.state as string), Number.MAX_SAFE_INTEGER);
    },
    message(ws) {
      ws.data.conn.lastSeen = Date.now();
    },
    close(ws) {
      ctx.sockets.delete(ws);
      if (!ws.data.conn.closed) gate.release(ws.data.state as string);
      releaseConn(ctx.hub, ws.data.conn, { ws });
    },
  };
}
