/** POST /emit and PUT|DELETE /roomspaces/<name>/secret. */
import { bearerToken, secretMatches } from "../auth/secret.ts";
import type { Ctx } from "../server/context.ts";
import { HttpError } from "../core/errors.ts";
import { isLoopback, json, readJson } from "../server/http.ts";
import { requireLocalClient } from "../auth/local-client.ts";
import type { EmitMessage } from "../core/message.ts";
import type { Counter, HistogramHandle, Metrics } from "../ops/metrics.ts";
import { isValidRoomspace } from "../core/rooms.ts";
import { MAX_BATCH, parseEmit } from "./emit-request.ts";
import { EngineUnavailable, type PublishResult } from "../engine/types.ts";
import { formatPosition } from "../core/history-id.ts";

/** The emit path's metrics, labels bound once per registry (no label strings per request). */
const hotMetrics = new WeakMap<Metrics, { eventsIn: Counter; duration: HistogramHandle }>();
function emitMetrics(m: Metrics) {
  let h = hotMetrics.get(m);
  if (!h) hotMetrics.set(m, (h = { eventsIn: m.counter("ws_emit_events_in_total", { source: "http" }), duration: m.histogram("ws_emit_emit_duration_seconds") }));
  return h;
}

/**
 * Is this caller allowed to emit? With a secret configured: the secret in the body or as
 * `Authorization: Bearer`, compared in constant time. Without one: loopback clients only.
 */
export function authorize(ctx: Ctx, req: Request, ip: string | (() => string), bodySecret: unknown): void {
  const expected = ctx.config.secret;
  if (expected === null) {
    // A listener bound to a loopback address only has peers on this machine: no need to ask
    // Bun for the address (requestIP costs ~2 µs, a tenth of an emit).
    const peer = isLoopback(ctx.config.host) ? "127.0.0.1" : typeof ip === "string" ? ip : ip();
    requireLocalClient(ctx.config, req, peer, "no --secret is configured, so only clients on this machine may emit (not through a proxy, not from another site's page)");
    return;
  }
  const presented = bearerToken(req.headers.get("authorization")) ?? bodySecret;
  if (presented === undefined || presented === null) throw new HttpError(403, "forbidden", 'missing secret: send "secret" in the body or "Authorization: Bearer <secret>"');
  if (!secretMatches(presented, expected)) throw new HttpError(403, "forbidden", "wrong secret");
}

/** @param peer the client's address (asked for only without --secret: requestIP is not free). */
export async function handleEmit(ctx: Ctx, req: Request, peer: () => string): Promise<Response> {
  const started = performance.now();
  const body = await readJson(req, ctx.config.maxBodyBytes);
  const batch = Array.isArray(body);
  if (batch && (body.length === 0 || body.length > MAX_BATCH)) throw new HttpError(400, "bad_request", `a batch must hold 1 to ${MAX_BATCH} emits`);
  const items: unknown[] = batch ? body : [body];

  // Check everything before emitting anything: a batch is taken whole or not at all.
  const msgs: EmitMessage[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const p = parseEmit(item);
    if (!p.ok) {
      ctx.metrics.inc("ws_emit_events_invalid_total", { source: "http" });
      const isObject = typeof item === "object" && item !== null && !Array.isArray(item);
      // A body that is not even an object is a plain 400; otherwise authorization comes first,
      // so an unauthenticated caller learns nothing from validation messages.
      if (isObject) authorize(ctx, req, peer, (item as Record<string, unknown>).secret);
      throw new HttpError(400, "bad_request", (batch ? `item ${i}: ` : "") + p.error);
    }
    authorize(ctx, req, peer, p.secret);
    msgs.push(p.value);
  }

  const hot = emitMetrics(ctx.metrics);
  if (!batch) {
    // One emit (the common case): no arrays of promises and results.
    const r = await publish(ctx, msgs[0]!);
    hot.eventsIn.inc(1);
    hot.duration.observe((performance.now() - started) / 1000);
    return json({ ok: true, delivered: r.delivered, rooms: msgs[0]!.rooms, ...clusterInfo(r.cluster), ...historyInfo(r) });
  }
  // Publishes start in order (so one connection keeps them ordered) and are awaited together.
  const results = await Promise.all(msgs.map((m) => publish(ctx, m)));
  hot.eventsIn.inc(msgs.length);
  hot.duration.observe((performance.now() - started) / 1000);
  const total = results.reduce((a, r) => a + r.delivered, 0);
  const cluster = results.some((r) => r.cluster === false) ? false : results[0]!.cluster;
  return json({ ok: true, emitted: msgs.length, delivered: total, ...clusterInfo(cluster), results: results.map((r) => ({ delivered: r.delivered, ...(r.cluster === null ? {} : { cluster: r.cluster }), ...historyInfo(r) })) });
}

/** An engine that cannot check an idempotency key answers 503: publishing anyway could deliver twice. */
async function publish(ctx: Ctx, msg: EmitMessage): Promise<PublishResult> {
  try {
    return await ctx.engine.publish(msg, "http");
  } catch (e) {
    if (e instanceof EngineUnavailable) throw new HttpError(503, "unavailable", "cannot check the idempotency key now; retry with the same key", { "Retry-After": "1" });
    throw e;
  }
}

/** history (issue 13): each room's event id (publish feedback), or that the emit was a duplicate. */
function historyInfo(r: PublishResult) {
  if (r.duplicate) return { duplicate: true };
  // fromEntries defines own properties: a room named "__proto__" is just a key.
  return r.positions ? { ids: Object.fromEntries([...r.positions].map(([room, p]) => [room, formatPosition(p)])) } : {};
}

/** Never claim the other nodes got it when Redis did not take it: local delivery cannot be undone, so 200 + cluster:false. */
function clusterInfo(cluster: boolean | null) {
  return cluster === null ? {} : cluster ? { cluster: true } : { cluster: false, warning: "Redis is unreachable: delivered on this node only" };
}

/** Set or delete a roomspace secret (in-memory engine, or Redis when configured). */
export async function handleRoomspaceSecret(ctx: Ctx, req: Request, ip: string, name: string): Promise<Response> {
  if (!isValidRoomspace(name)) throw new HttpError(400, "bad_request", "a roomspace name may only use letters, digits, '.', '_' and '-'");
  // A secret from --roomspace-secret is checked before any stored one, with or without Redis:
  // changing it here would look done and change nothing (with Redis) or last until a restart.
  if (ctx.config.roomspaceSecrets.has(name)) {
    authorize(ctx, req, ip, undefined);
    throw new HttpError(409, "conflict", `roomspace "${name}" has its secret from --roomspace-secret: change it there`);
  }
  if (req.method === "DELETE") {
    authorize(ctx, req, ip, undefined);
    await storeSecret(ctx, name, null);
    return json({ ok: true, roomspace: name, secret: false });
  }
  const body = await readJson(req, 64 * 1024);
  const secret = typeof body === "object" && body !== null ? (body as Record<string, unknown>).secret : undefined;
  authorize(ctx, req, ip, undefined);
  if (typeof secret !== "string" || secret.length === 0 || secret.length > 1024)
    throw new HttpError(400, "bad_request", 'body must be {"secret":"<1 to 1024 characters>"}');
  await storeSecret(ctx, name, secret);
  return json({ ok: true, roomspace: name, secret: true });
}

async function storeSecret(ctx: Ctx, name: string, secret: string | null): Promise<void> {
  try {
    await ctx.engine.setRoomspaceSecret(name, secret);
  } catch (e) {
    if (e instanceof EngineUnavailable) throw new HttpError(503, "unavailable", "the secret store is unreachable; try again later", { "Retry-After": "1" });
    throw e;
  }
}
