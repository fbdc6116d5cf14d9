/**
 * The relaying worker's side of a Socket.IO WebSocket whose session lives in another worker
 * (--workers; see ./worker-relay.ts): every client frame goes to the owner, every owner frame
 * to the client, and either side closing closes the other.
 */
import type { Ctx, WS, WsProtocol } from "../../server/context.ts";
import { CLOSE } from "../../server/context.ts";
import type { WorkerLink } from "./worker-forward.ts";
import type { RelayPipe } from "./worker-relay.ts";

export type RelayWsState = { owner: string; sid: string; pipe: RelayPipe | null };

export function createRelayWsProtocol(ctx: Ctx, link: WorkerLink, maxFrame: number): WsProtocol {
  return {
    open(ws: WS) {
      const st = ws.data.state as RelayWsState;
      ctx.sockets.add(ws);
      st.pipe = link.relayTo(st.owner, st.sid, maxFrame, {
        message(d) {
          // Bun bounds what a slow client may hold (closeOnBackpressureLimit).
          ws.send(d);
        },
        closed() {
          if (ws.readyState === 1) ws.close(CLOSE.NORMAL, "session closed");
        },
      });
    },
    message(ws: WS, data: string | Buffer) {
      const st = ws.data.state as RelayWsState;
      ws.data.conn.lastSeen = Date.now();
      if (!st.pipe?.send(typeof data === "string" ? data : new Uint8Array(data))) ws.close(CLOSE.POLICY, "relay to the session's worker is full or gone");
    },
    close(ws: WS) {
      const st = ws.data.state as RelayWsState;
      ctx.sockets.delete(ws);
      st.pipe?.close();
    },
  };
}
