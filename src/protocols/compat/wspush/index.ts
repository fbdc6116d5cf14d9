/**
 * wspush compatibility: `/wspush?token=…` over WebSocket, `/wspush/sse?token=…` over SSE.
 * wspush served every path, so its clients may also use "/?token=…", "/sse?token=…" or any
 * other path with a token: those are claimed here when they cannot mean anything else.
 */
import { HttpError } from "../../../core/errors.ts";
import type { Adapter, Peer } from "../../../server/adapter.ts";
import { refuseWhenFull } from "../../../server/admission.ts";
import type { Ctx } from "../../../server/context.ts";
import { methodNotAllowed } from "../../../server/http.ts";
import { wspushFormat, wspushSseFormat } from "./codec.ts";
import { createWspushGate, createWspushProtocol, upgradeWspush } from "./ws.ts";

/**
 * "/" only for an upgrade or an event stream, "/sse" only without a room and with a token
 * that is not a signed ws-emit token (those always hold a dot; wspush tokens are base64url).
 */
function isWspushOnOwnPath(req: Request, url: URL): boolean {
  const token = url.searchParams.get("token");
  if (token === null) return false;
  if (url.pathname === "/") {
    const upgrade = (req.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
    return upgrade || (req.headers.get("accept") ?? "").includes("text/event-stream");
  }
  return url.pathname === "/sse" && !url.searchParams.has("room") && !url.searchParams.has("format") && !token.includes(".");
}

export const wspushAdapter: Adapter = {
  name: "wspush",
  formats: [wspushFormat, wspushSseFormat],
  start(ctx: Ctx) {
    const gate = createWspushGate(ctx);
    const proto = createWspushProtocol(ctx, gate);
    function serve(req: Request, url: URL, sse: boolean, peer: Peer) {
      if (req.method !== "GET") methodNotAllowed("GET");
      const wantsSse = sse || (req.headers.get("accept") ?? "").includes("text/event-stream");
      refuseWhenFull(ctx);
      const token = gate.admit(url);
      if (wantsSse) {
        if (!ctx.wspushSse) {
          gate.release(token);
          throw new HttpError(501, "not_implemented", "wspush over SSE is not available in this build");
        }
        return ctx.wspushSse(req, token, peer(), () => gate.release(token));
      }
      return upgradeWspush(ctx, req, proto, gate, token, peer());
    }
    return {
      handle(req, url, peer) {
        const path = url.pathname;
        if (path === "/wspush" || path === "/wspush/sse" || isWspushOnOwnPath(req, url)) return serve(req, url, path.endsWith("/sse"), peer);
        return null;
      },
      // Any path nobody else claims, carrying ?token=, is a wspush client.
      fallback(req, url, peer) {
        const path = url.pathname;
        if (!url.searchParams.has("token") || path === "/" || path === "/index.html") return null;
        return serve(req, url, path.endsWith("/sse"), peer);
      },
    };
  },
};
