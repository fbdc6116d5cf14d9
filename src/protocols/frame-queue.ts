/**
 * The `message` and `close` handlers shared by the JSON-over-WebSocket protocols (native,
 * wsify, webdis): frames apply in the order sent, even while one of them waits for Redis or
 * the authorizer (see ../in-order.ts); closing releases the connection's rooms.
 */
import { releaseConn } from "../core/connection.ts";
import { CLOSE, type Ctx, type WS, type WsProtocol } from "../server/context.ts";
import { createInOrder, MAX_BACKLOG } from "../core/in-order.ts";

export function queuedFrames(
  ctx: Ctx,
  handle: (ws: WS, data: string | Buffer) => Promise<unknown> | void,
  /** Close reason when a client sends more than MAX_BACKLOG frames while one is pending. */
  busyReason: string,
): Pick<WsProtocol, "message" | "close"> {
  const order = createInOrder<WS, string | Buffer>(handle, MAX_BACKLOG, (ws) => ws.close(CLOSE.BAD_FRAME_FLOOD, busyReason));
  return {
    message(ws, data) {
      ws.data.conn.lastSeen = Date.now();
      order.push(ws, data);
    },
    close(ws) {
      ctx.sockets.delete(ws);
      releaseConn(ctx.hub, ws.data.conn, { ws });
    },
  };
}
