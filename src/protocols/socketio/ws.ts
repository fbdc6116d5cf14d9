/**
 * Engine.IO over WebSocket: a session that starts on the socket (`?transport=websocket`
 * without sid: the OPEN packet is the first frame), or a probe upgrading a polling session
 * (`&sid=…`: `2probe` / `3probe`, then `5`). One text frame = one Engine.IO packet.
 */
import type { WsProtocol } from "../../server/context.ts";
import type { Session, Sessions, SioWsState } from "./session.ts";
import { encodeOpen, type Handshake } from "./codec.ts";

export function createEngineWsProtocol(
  sessions: () => Sessions,
  handshake: (sid: string, upgrades: string[]) => Handshake,
  unsupported: (s: Session, error: string) => void,
): WsProtocol {
  return {
    open(ws) {
      const st = ws.data.state as SioWsState;
      if (st.role === "probe") {
        // The session may have ended, upgraded or started another probe since the request.
        const s = st.session;
        if (s.closed || s.transport !== "polling" || s.probe) ws.close(1008, "session closed or already upgrading");
        else sessions().beginProbe(s, ws);
        return;
      }
      const s = sessions().open(ws.data.conn, ws);
      st.session = s;
      ws.send(encodeOpen(handshake(s.id, [])));
    },
    message(ws, data) {
      const st = ws.data.state as SioWsState;
      const s = st.session;
      if (!s) return;
      // A binary frame is a Socket.IO attachment, valid but not taken here: counted, not fatal
      // (a client that emits bytes sends the event packet, refused with an ack, then these).
      if (typeof data !== "string") return unsupported(s, "binary frames are not supported");
      sessions().packet(s, data, ws);
    },
    close(ws) {
      const st = ws.data.state as SioWsState;
      const s = st.session;
      if (!s) return;
      if (st.role === "probe") {
        // A failed probe: the session goes on polling.
        sessions().abortProbe(s, ws);
        return;
      }
      sessions().close(s, "transport closed");
    },
  };
}
