/**
 * Occupancy and presence over HTTP (emit secret as Bearer, or the loopback rule, as POST /emit):
 *
 *   GET /rooms/<room>            {"room","subscribers","nodes"}        one room, whole cluster, O(1)
 *   GET /rooms?prefix=P&cursor=C {"rooms":[{"room","subscribers"}],"cursor"}  occupied rooms, paged ("0" = last page)
 *   GET /rooms?occupied=1        every occupied room in one answer (webhook reconciliation), capped
 *   GET /rooms/<room>/members    {"room","members":[sub…],"cursor"}    presence rooms only, paged
 *
 * `<room>` is percent-encoded (a "/" in a room name is %2F); `?namespace=/x` for Socket.IO namespaces.
 * Other paths under /rooms/ are left to other routes (null).
 */
import type { Adapter } from "../server/adapter.ts";
import type { Ctx } from "../server/context.ts";
import { HttpError } from "../core/errors.ts";
import { json, methodNotAllowed } from "../server/http.ts";
import { parseNamespace, parseRoom } from "../core/rooms.ts";
import { authorize } from "../ingest/http.ts";
import { roomKeyOf, splitRoomKey, type Occupancy } from "../engine/occupancy.ts";
import { EngineUnavailable } from "../engine/types.ts";

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
/** `?occupied=1` answers at most this many rooms (and says `truncated`). */
export const SNAPSHOT_MAX = 10_000;

function param(url: URL, name: string, max: number): string | null {
  const v = url.searchParams.get(name);
  if (v !== null && v.length > max) throw new HttpError(400, "bad_request", `${name} is longer than ${max} characters`);
  return v;
}

/** Where the last page ended: the store's own cursor ("0" = from the start). */
function cursorOf(url: URL): string {
  const c = param(url, "cursor", 300) ?? "0";
  if (!/^(\d{1,20}|>.+)$/.test(c)) throw new HttpError(400, "bad_request", 'cursor must be the "cursor" of the previous page');
  return c;
}

function pageSize(url: URL): number {
  const v = param(url, "count", 10);
  if (v === null) return DEFAULT_PAGE;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new HttpError(400, "bad_request", `count must be 1 to ${MAX_PAGE}`);
  return n;
}

function namespaceOf(url: URL): string {
  const ns = parseNamespace(param(url, "namespace", 200));
  if (!ns.ok) throw new HttpError(400, "bad_request", ns.error);
  return ns.ns;
}

/** Store errors (Redis down) are a 503, never a wrong count. */
async function store<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(503, "unavailable", e instanceof EngineUnavailable ? e.message : "the occupancy store (Redis) is unreachable; try again later", { "Retry-After": "1" });
  }
}

/** The adapter answering /rooms… (listed by `serve` once occupancy exists: src/engine/occupancy-setup.ts). */
export function roomsAdapter(route: ReturnType<typeof roomsRoute>): Adapter {
  return { name: "rooms", start: (ctx) => ({ handle: (req, url, peer) => (url.pathname === "/rooms" || url.pathname.startsWith("/rooms/") ? route(ctx, req, url, peer()) : null) }) };
}

/** The /rooms route. */
export function roomsRoute(occ: Occupancy) {
  return async (ctx: Ctx, req: Request, url: URL, ip: string): Promise<Response | null> => {
    const path = url.pathname;
    // Only these shapes: other /rooms/<room>/… paths may belong to another route (e.g. history).
    const m = path === "/rooms" ? null : /^\/rooms\/([^/]+)(\/members)?$/.exec(path);
    if (path !== "/rooms" && !m) return null;
    if (req.method !== "GET" && req.method !== "HEAD") methodNotAllowed("GET");
    authorize(ctx, req, ip, undefined);
    const ns = namespaceOf(url);
    if (!m) return list(url, ns);
    let text: string;
    try {
      text = decodeURIComponent(m[1]!);
    } catch {
      throw new HttpError(400, "bad_request", "the room in the path is not valid percent-encoding");
    }
    const r = parseRoom(text);
    if (!r.ok) throw new HttpError(400, "bad_request", r.error);
    const key = roomKeyOf(ns, r.room);
    const nsField = ns === "/" ? {} : { namespace: ns };
    if (!m[2]) {
      const c = await store(occ.store.room(key));
      return json({ room: r.room, ...nsField, subscribers: c.subscribers, nodes: c.nodes });
    }
    if (!occ.isPresenceRoom(key))
      throw new HttpError(404, "not_found", `presence is off for ${r.roomspace ? `roomspace "${r.roomspace}"` : "public rooms"} (turn it on with --presence-roomspace)`);
    const page = await store(occ.store.members(key, cursorOf(url), pageSize(url)));
    return json({ room: r.room, ...nsField, members: page.items, cursor: page.cursor });
  };

  async function list(url: URL, ns: string): Promise<Response> {
    const prefix = param(url, "prefix", 256) ?? "";
    const keyPrefix = roomKeyOf(ns, prefix);
    const mine = (k: string) => splitRoomKey(k).ns === ns;
    const out = (k: { room: string; subscribers: number }) => ({ room: splitRoomKey(k.room).room, subscribers: k.subscribers });
    if (url.searchParams.get("occupied") === "1") {
      const rooms: Array<{ room: string; subscribers: number }> = [];
      let cursor = "0";
      do {
        const p = await store(occ.store.list(keyPrefix, cursor, MAX_PAGE));
        for (const k of p.items) if (mine(k.room) && rooms.length < SNAPSHOT_MAX) rooms.push(out(k));
        cursor = p.cursor;
      } while (cursor !== "0" && rooms.length < SNAPSHOT_MAX);
      return json({ rooms, truncated: cursor !== "0", time: Date.now() });
    }
    const p = await store(occ.store.list(keyPrefix, cursorOf(url), pageSize(url)));
    return json({ rooms: p.items.filter((k) => mine(k.room)).map(out), cursor: p.cursor });
  }
}
