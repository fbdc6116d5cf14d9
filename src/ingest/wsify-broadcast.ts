/** wsify's backend API: POST /broadcast?key=K with {"channel":"hello","content":<any JSON>} → 201. */
import { secretMatches } from "../auth/secret.ts";
import type { Ctx } from "../server/context.ts";
import { HttpError } from "../core/errors.ts";
import { readJson } from "../server/http.ts";
import { requireLocalClient } from "../auth/local-client.ts";
import { WSIFY_EVENT } from "../protocols/compat/wsify/codec.ts";
import { DEFAULT_NAMESPACE, parseRoom } from "../core/rooms.ts";
import { deeperThan, depthError, MAX_DEPTH } from "../core/bounds.ts";
import { MAX_ROOMS_PER_EMIT } from "./emit-request.ts";

export async function handleWsifyBroadcast(ctx: Ctx, req: Request, url: URL, ip: string): Promise<Response> {
  const expected = ctx.config.wsifyKey ?? ctx.config.secret;
  if (expected === null) {
    requireLocalClient(ctx.config, req, ip, "no --wsify-key or --secret is configured, so only clients on this machine may broadcast");
  } else if (!secretMatches(url.searchParams.get("key"), expected)) throw new HttpError(403, "forbidden", "missing or wrong ?key=");
  const body = await readJson(req, ctx.config.maxBodyBytes);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "bad_request", 'body must be {"channel":"…","content":…}');
  const o = body as Record<string, unknown>;
  const channels: unknown[] = Array.isArray(o.channels) ? o.channels : o.channel !== undefined ? [o.channel] : [];
  if (channels.length === 0) throw new HttpError(400, "bad_request", '"channel" is required');
  if (channels.length > MAX_ROOMS_PER_EMIT) throw new HttpError(400, "bad_request", `"channels" has more than ${MAX_ROOMS_PER_EMIT} entries`);
  const rooms: string[] = [];
  for (const c of channels) {
    // wsify backends may name a channel with a number; anything else is not a name (and String() of it may throw).
    const r = parseRoom(typeof c === "number" && Number.isFinite(c) ? String(c) : c);
    if (!r.ok) throw new HttpError(400, "bad_request", `"channel": ${r.error}`);
    rooms.push(r.room);
  }
  if (deeperThan(o.content, MAX_DEPTH)) throw new HttpError(400, "bad_request", depthError('"content"'));
  await ctx.engine.publish({ event: WSIFY_EVENT, args: [o.content === undefined ? null : o.content], namespace: DEFAULT_NAMESPACE, rooms }, "wsify");
  ctx.metrics.inc("ws_emit_events_in_total", { source: "wsify" });
  return new Response(null, { status: 201 });
}
