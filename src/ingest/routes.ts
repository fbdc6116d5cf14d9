/**
 * The HTTP ingest adapter: how backends send over HTTP. `POST /emit` (ws-emit's own),
 * `GET|POST /PUBLISH/<channel>/<message>` (webdis), `POST /broadcast` (wsify), and
 * `PUT|DELETE /roomspaces/<name>/secret`.
 */
import type { Adapter } from "../server/adapter.ts";
import { decodePathPart, methodNotAllowed } from "../server/http.ts";
import { handleEmit, handleRoomspaceSecret } from "./http.ts";
import { handleWebdisPublish } from "./webdis-publish.ts";
import { handleWsifyBroadcast } from "./wsify-broadcast.ts";

const ROOMSPACE_SECRET = /^\/roomspaces\/([^/]+)\/secret$/;

export const ingestAdapter: Adapter = {
  name: "ingest",
  start(ctx) {
    return {
      handle(req, url, peer) {
        const path = url.pathname;
        const m = req.method;
        // An emit needs the client's address only for the loopback check (no --secret).
        if (path === "/emit") return m === "POST" ? handleEmit(ctx, req, peer) : methodNotAllowed("POST");
        if (path.startsWith("/PUBLISH/")) return m === "GET" || m === "POST" ? handleWebdisPublish(ctx, req, url, peer()) : methodNotAllowed("GET, POST");
        if (path === "/broadcast") return m === "POST" ? handleWsifyBroadcast(ctx, req, url, peer()) : methodNotAllowed("POST");
        const rs = ROOMSPACE_SECRET.exec(path);
        if (rs) return m === "PUT" || m === "DELETE" ? handleRoomspaceSecret(ctx, req, peer(), decodePathPart(rs[1]!, "roomspace name")) : methodNotAllowed("PUT, DELETE");
        return null;
      },
    };
  },
};
