/**
 * webdis' HTTP publish: `GET /PUBLISH/<channel>/<message>` (or POST with the message as the
 * body) → `{"PUBLISH":<local deliveries>}`. Same authorization as /emit: the secret as
 * `Authorization: Bearer` or `?secret=`, or loopback when no secret is configured.
 */
import type { Ctx } from "../server/context.ts";
import { HttpError } from "../core/errors.ts";
import { json, readBody } from "../server/http.ts";
import { DEFAULT_NAMESPACE, parseRoom } from "../core/rooms.ts";
import { authorize } from "./http.ts";

export async function handleWebdisPublish(ctx: Ctx, req: Request, url: URL, ip: string): Promise<Response> {
  authorize(ctx, req, ip, url.searchParams.get("secret") ?? undefined);
  // Split the raw path: the message itself may contain encoded slashes.
  const rest = url.pathname.slice("/PUBLISH/".length);
  const slash = rest.indexOf("/");
  const channelPart = slash < 0 ? rest : rest.slice(0, slash);
  let channel: string;
  let message: string;
  try {
    channel = decodeURIComponent(channelPart);
    message = req.method === "POST" ? await readBody(req, ctx.config.maxBodyBytes) : slash < 0 ? "" : decodeURIComponent(rest.slice(slash + 1));
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, "bad_request", "bad percent-encoding in the path");
  }
  if (req.method === "GET" && slash < 0) throw new HttpError(400, "bad_request", "use /PUBLISH/<channel>/<message>");
  const r = parseRoom(channel);
  if (!r.ok) throw new HttpError(400, "bad_request", `channel: ${r.error}`);
  const { delivered } = await ctx.engine.publish({ event: "message", args: [message], namespace: DEFAULT_NAMESPACE, rooms: [r.room], raw: message }, "webdis");
  ctx.metrics.inc("ws_emit_events_in_total", { source: "webdis" });
  return json({ PUBLISH: delivered });
}
