/**
 * The native protocol adapter: WebSocket at /ws (JSON join/leave/ping frames, events as
 * `{"type":"event",…}`). /ws is shared with wsify, as in the original: a connection whose first
 * frame is a wsify command is handed over to compat/wsify for good.
 */
import { connectCommand, createAuthorizer } from "../../auth/authorizer.ts";
import { HttpError } from "../../core/errors.ts";
import type { Adapter } from "../../server/adapter.ts";
import { refuseWhenFull } from "../../server/admission.ts";
import { methodNotAllowed } from "../../server/http.ts";
import { createWsifyProtocol } from "../compat/wsify/ws.ts";
import { nativeFormat } from "./codec.ts";
import { createNativeProtocol, upgradeNative } from "./ws.ts";

export const nativeAdapter: Adapter = {
  name: "native",
  formats: [nativeFormat],
  start(ctx) {
    const { config, metrics } = ctx;
    // wsify's authorizer webhook also gates the /ws connect itself.
    const authorizer = config.authorizerUrl ? createAuthorizer(config.authorizerUrl, config.authorizerTimeoutMs, config.authorizerCacheMs) : null;
    const proto = createNativeProtocol(ctx, createWsifyProtocol(ctx, authorizer));
    return {
      async handle(req, url, peer) {
        if (url.pathname !== "/ws") return null;
        if (req.method !== "GET") methodNotAllowed("GET");
        refuseWhenFull(ctx);
        if (authorizer) {
          const verdict = await authorizer.check(connectCommand(req, url));
          if (verdict === "down") throw new HttpError(503, "authorizer_unavailable", "the authorizer is down; try again later", { "Retry-After": "5" });
          if (verdict === "denied") {
            metrics.inc("ws_emit_connections_refused_total", { reason: "authorizer" });
            throw new HttpError(403, "forbidden", "the authorizer refused this connection");
          }
        }
        return upgradeNative(ctx, req, url, proto, peer());
      },
    };
  },
};
