/**
 * Failed roomspace joins, limited per client address and per roomspace across every connection
 * and transport, so a secret cannot be guessed by opening new connections or spreading guesses
 * over transports. Only real guesses count (a wrong secret, a token whose signature does not
 * match); while a limit is reached, joins that would check that secret are refused unchecked.
 */
import { parseRoom } from "../core/rooms.ts";
import { DEFAULT_NAMESPACE } from "../core/rooms.ts";
import type { Ctx } from "../server/context.ts";
import { isLoopbackIp } from "./forwarded.ts";
import { checkJoin, joinRefused, type JoinCheck } from "./rooms.ts";

const WINDOW_MS = 60_000;
/** Most addresses / roomspaces tracked at once; beyond that the oldest windows are forgotten. */
const MAX_KEYS = 100_000;

export type LimitScope = "address" | "roomspace";

interface Window {
  start: number;
  n: number;
}

export interface JoinLimiter {
  /** Which limit stops a join needing `roomspace`'s secret from `ip`, and seconds until it may be tried; null when it may. */
  blocked(ip: string, roomspace: string, now?: number): { scope: LimitScope; retryAfter: number } | null;
  /** Count one wrong guess. */
  failed(ip: string, roomspace: string, now?: number): void;
  /** Tracked keys (for tests: memory stays bounded). */
  size(): number;
}

/**
 * Fixed one-minute windows. `perAddress` does not apply to loopback clients (a local proxy or
 * backend; the proxy limits its own clients, see contrib/nginx.conf) unless `exemptLoopback`
 * is false; `perRoomspace` applies to everyone: it is what stops guesses from many addresses.
 */
export function createJoinLimiter(perAddress: number, perRoomspace: number, exemptLoopback = true): JoinLimiter {
  const byAddress = new Map<string, Window>();
  const bySpace = new Map<string, Window>();

  function over(map: Map<string, Window>, key: string, limit: number, now: number): number | null {
    const w = map.get(key);
    if (!w || now - w.start >= WINDOW_MS) return null;
    return w.n >= limit ? Math.max(1, Math.ceil((w.start + WINDOW_MS - now) / 1000)) : null;
  }

  function hit(map: Map<string, Window>, key: string, now: number): void {
    let w = map.get(key);
    if (!w || now - w.start >= WINDOW_MS) {
      if (w) map.delete(key);
      else if (map.size >= MAX_KEYS) sweep(map, now);
      w = { start: now, n: 0 };
      map.set(key, w); // insertion order = window age, so the sweep can stop early
    }
    w.n++;
  }

  function sweep(map: Map<string, Window>, now: number): void {
    for (const [k, w] of map) {
      if (now - w.start < WINDOW_MS && map.size < MAX_KEYS) break;
      map.delete(k);
    }
  }

  const addressExempt = (ip: string) => exemptLoopback && isLoopbackIp(ip);

  return {
    blocked(ip, roomspace, now = Date.now()) {
      if (!addressExempt(ip)) {
        const s = over(byAddress, ip, perAddress, now);
        if (s !== null) return { scope: "address", retryAfter: s };
      }
      const s = over(bySpace, roomspace, perRoomspace, now);
      return s === null ? null : { scope: "roomspace", retryAfter: s };
    },
    failed(ip, roomspace, now = Date.now()) {
      if (!addressExempt(ip)) hit(byAddress, ip, now);
      hit(bySpace, roomspace, now);
    },
    size: () => byAddress.size + bySpace.size,
  };
}

const limiters = new WeakMap<Ctx, JoinLimiter>();

function limiterOf(ctx: Ctx): JoinLimiter {
  let l = limiters.get(ctx);
  if (!l) limiters.set(ctx, (l = createJoinLimiter(ctx.config.joinFailuresPerAddress, ctx.config.joinFailuresPerRoomspace)));
  return l;
}

/**
 * checkJoin (src/auth/rooms.ts) for a client at `ip`, under the join-failure limits. Every
 * transport calls this. A limited join fails with code `rate_limited` and `retryAfter` seconds.
 */
export async function checkJoinFrom(ctx: Ctx, ip: string, room: unknown, secret: unknown, token?: unknown, ns: string = DEFAULT_NAMESPACE): Promise<JoinCheck> {
  const r = parseRoom(room);
  const space = r.ok ? r.roomspace : null;
  if (space === null) return checkJoin(ctx.engine, room, secret, token, ns);
  const limiter = limiterOf(ctx);
  const b = limiter.blocked(ip, space);
  if (b !== null) {
    ctx.metrics.inc("ws_emit_join_failures_limited_total", { scope: b.scope });
    const who = b.scope === "address" ? "from your address" : `for roomspace "${space}"`;
    return { ok: false, code: "rate_limited", retryAfter: b.retryAfter, message: `too many failed joins ${who}; retry in ${b.retryAfter} s` };
  }
  const c = await checkJoin(ctx.engine, room, secret, token, ns);
  if (!c.ok && c.guess) limiter.failed(ip, space);
  return c;
}

/**
 * The rooms of a connection's URL (`?room=…&secret=…` or `&token=…`), checked before the upgrade
 * or stream starts: the first refusal is thrown as its HTTP error (and counted). Returns the
 * token's subject, if any (presence).
 */
export async function admitUrlRooms(ctx: Ctx, ip: string, rooms: readonly string[], secret: string | null, token: string | null): Promise<string | null> {
  let sub: string | null = null;
  for (const room of rooms) {
    const c = await checkJoinFrom(ctx, ip, room, secret, token);
    if (!c.ok) {
      ctx.metrics.inc("ws_emit_joins_total", { result: c.code });
      throw joinRefused(c);
    }
    sub ??= c.sub ?? null;
  }
  return sub;
}
