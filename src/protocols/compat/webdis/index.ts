/** webdis compatibility: WebSocket at /.json with SUBSCRIBE/UNSUBSCRIBE/PING (its /PUBLISH is in ingest/). */
import type { Adapter } from "../../../server/adapter.ts";
import { refuseWhenFull } from "../../../server/admission.ts";
import { methodNotAllowed } from "../../../server/http.ts";
import { webdisFormat } from "./codec.ts";
import { createWebdisProtocol, upgradeWebdis } from "./ws.ts";

export const webdisAdapter: Adapter = {
  name: "webdis",
  formats: [webdisFormat],
  start(ctx) {
    const proto = createWebdisProtocol(ctx);
    return {
      handle(req, url, peer) {
        if (url.pathname !== "/.json") return null;
        if (req.method !== "GET") methodNotAllowed("GET");
        refuseWhenFull(ctx);
        return upgradeWebdis(ctx, req, url, proto, peer());
      },
    };
  },
};
