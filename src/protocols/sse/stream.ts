/**
 * Server-Sent Events at GET /sse?room=a&room=b[&secret=…|&token=…][&format=envelope].
 *
 * Every refusal (origin, draining, limits, bad room, wrong secret or token) is an HTTP error
 * with a JSON body before the stream starts. A stream is a Bun "direct" ReadableStream: hub
 * frames are written straight to the socket, those of one tick in one write (a batch emit or a
 * burst from Redis is one syscall per stream, not one per frame). While Bun reports
 * backpressure (write returns a promise) frames wait in a per-stream queue capped at
 * --max-buffer bytes; past the cap the client is too slow and its connection is aborted,
 * counted as drops_total{reason="slow_sse"}.
 */
import type { Server } from "bun";
import { admitUrlRooms } from "../../auth/join-limit.ts";
import { createConn, joinBroadcast, joinRoom, releaseConn, type Conn, type Transport } from "../../core/connection.ts";
import type { Ctx } from "../../server/context.ts";
import { refuseWhenFull } from "../../server/admission.ts";
import { HttpError } from "../../core/errors.ts";
import { methodNotAllowed } from "../../server/http.ts";
import { textOf, type Sink, type TextFormat } from "../../core/hub.ts";
import { DEFAULT_NAMESPACE } from "../../core/rooms.ts";
import { SSE_ENVELOPE_FORMAT_ID, SSE_FORMAT_ID, SSE_PING, SSE_PREAMBLE } from "./codec.ts";
import { coveredPosition, resumeStream, stateFormats } from "./resume.ts";
import { formatPosition, type Position } from "../../core/history-id.ts";
import { splitMarked } from "./codec.ts";
import { roomOfToken, WSPUSH_SSE_FORMAT_ID } from "../compat/wspush/codec.ts";
import { quote } from "../../core/bounds.ts";

export const SSE_PATH = "/sse";

interface SseStream {
  readonly transport: Transport;
  readonly sink: Sink;
  /** Heartbeat tick: a ping, or the end of a stream whose socket has not drained for too long. */
  tick(now: number): void;
  end(reason: string): void;
}

/** Per-server state: the open streams, one heartbeat timer shared by all of them, resume. */
interface SseState {
  streams: Set<SseStream>;
  timer: ReturnType<typeof setInterval> | null;
  /** The registered SSE formats by id, to encode replayed events as live ones. */
  formats: Map<string, TextFormat>;
  /** Flushes of the streams that got frames this tick; one microtask runs them all. */
  dirty: Array<() => void>;
}
const states = new WeakMap<Ctx, SseState>();

function stateOf(ctx: Ctx): SseState {
  let s = states.get(ctx);
  if (!s) states.set(ctx, (s = { streams: new Set(), timer: null, formats: new Map(), dirty: [] }));
  return s;
}

function flushLater(state: SseState, flush: () => void): void {
  state.dirty.push(flush);
  if (state.dirty.length === 1)
    queueMicrotask(() => {
      const all = state.dirty;
      state.dirty = [];
      // One stream's failure must not leave the others of this tick unflushed for good.
      for (const f of all)
        try {
          f();
        } catch {}
    });
}

// The hub hands the same frame string to every stream of a room in a row: measure it once.
let lastFrame = "";
let lastBytes = 0;
function byteLength(frame: string): number {
  if (frame !== lastFrame) {
    lastFrame = frame;
    lastBytes = Buffer.byteLength(frame);
  }
  return lastBytes;
}

/** A `Deps.routes` entry: answers GET /sse, returns null for every other path. */
export async function sseRoute(ctx: Ctx, req: Request, url: URL, ip: string): Promise<Response | null> {
  if (url.pathname !== SSE_PATH) return null;
  if (req.method !== "GET") methodNotAllowed("GET");
  const { config, metrics } = ctx;
  refuseWhenFull(ctx);
  const format = url.searchParams.get("format");
  if (format !== null && format !== "event" && format !== "envelope")
    throw new HttpError(400, "bad_request", `unknown format ${quote(format)}: use "event" (the default) or "envelope"`);
  const rooms = [...new Set(url.searchParams.getAll("room"))];
  if (rooms.length > config.maxRoomsPerConnection) throw new HttpError(400, "too_many_rooms", `at most ${config.maxRoomsPerConnection} rooms per connection`);
  const secret = url.searchParams.get("secret");
  const token = url.searchParams.get("token");
  const sub = await admitUrlRooms(ctx, ip, rooms, secret, token); // sub: the token's subject (presence)
  // The checks may have awaited the secret store: look again before taking the slot.
  refuseWhenFull(ctx);
  if (req.signal.aborted) return new Response(null, { status: 499 });

  const conn = createConn("sse", ip, config);
  conn.sub = sub;
  const formatId = format === "envelope" ? SSE_ENVELOPE_FORMAT_ID : SSE_FORMAT_ID;
  // --history: every room's position is read (and what was missed since Last-Event-ID
  // replayed) while the stream already holds the live frames back: see ./resume.ts.
  const resume = ctx.engine.history && rooms.length > 0 ? { lastEventId: req.headers.get("last-event-id") ?? url.searchParams.get("lastEventId"), ready: Promise.resolve() } : undefined;
  const body = openStream(ctx, req, conn, { formatId, rooms, broadcast: true, maxRooms: config.maxRoomsPerConnection, resume });
  // The headers go out once every room's position is known: an open EventSource then gets every
  // event emitted after it saw `open` (the read is the stream's starting point).
  if (resume) await resume.ready;
  return streamResponse(ctx, req, body);
}

/**
 * Set up SSE for a server (the `extra` hook of startServer): resume (`history`, and the
 * `formats` to encode replayed events with), and `ctx.wspushSse` for wspush clients at
 * /wspush/sse?token=… (see wspush-ws.ts): the same stream machinery, subscribed to the
 * token's room only, in wspush's `data:<line>` format. The server has already validated the
 * token and reserved its slot; `onClose` frees it.
 */
export function installSse(ctx: Ctx, opts: { formats?: TextFormat[] } = {}): void {
  const state = stateOf(ctx);
  for (const f of opts.formats ?? []) state.formats.set(f.id, f);
  stateFormats.set(ctx, state.formats);
  ctx.wspushSse = (req, token, ip, onClose) => {
    const conn = createConn("wspush", ip, ctx.config);
    const body = openStream(ctx, req, conn, { formatId: WSPUSH_SSE_FORMAT_ID, rooms: [roomOfToken(token)], broadcast: false, maxRooms: 1, onClose });
    return streamResponse(ctx, req, body);
  };
}

function streamResponse(ctx: Ctx, req: Request, body: ReadableStream): Response {
  // Bun closes an HTTP connection idle for 10 s by default; our heartbeat owns liveness here.
  (ctx.server() as Server<unknown>).timeout(req, 0);
  return new Response(body, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
      // nginx buffers proxied responses unless told not to.
      "X-Accel-Buffering": "no",
    },
  });
}

interface StreamOptions {
  formatId: string;
  rooms: string[];
  /** Also receive emits without a room (namespace "/"). */
  broadcast: boolean;
  maxRooms: number;
  /** Called once when the stream ends, whatever ended it. */
  onClose?: () => void;
  /** --history: read each room's position (and resume from Last-Event-ID) before going live; `ready` is set to when that is done. */
  resume?: { lastEventId: string | null; ready: Promise<void> };
}

/** Subscribe, register, and build the response body. */
function openStream(ctx: Ctx, req: Request, conn: Conn, opts: StreamOptions): ReadableStream {
  const { formatId, rooms } = opts;
  const { hub, metrics, config } = ctx;
  const state = stateOf(ctx);
  const cap = config.backpressureBytes;
  let ctl: ReadableStreamDirectController | null = null;
  /** Frames waiting while Bun reports backpressure (and before the stream starts). */
  let queue: string[] = [];
  let queued = 0;
  let blocked = true;
  /** When Bun last reported backpressure (a write that returned a promise). */
  let blockedSince = 0;
  let done = false;
  /**
   * The first frame of a tick is written at once (a single emit costs what it always did);
   * later frames of the same tick wait in `pending` and go out together at its end (flushLater).
   */
  let wroteThisTick = false;
  let pending = "";
  let resolveDone: () => void = () => {};
  const finished = new Promise<void>((r) => (resolveDone = r));

  /** Leave every room and the registries; once. */
  function release() {
    if (done) return false;
    done = true;
    queue = [];
    releaseConn(hub, conn, { sink });
    state.streams.delete(stream);
    ctx.streams.delete(stream);
    if (state.streams.size === 0 && state.timer) {
      clearInterval(state.timer);
      state.timer = null;
    }
    resolveDone();
    opts.onClose?.();
    return true;
  }

  function write(chunk: string) {
    let r: number | Promise<number>;
    try {
      r = ctl!.write(chunk);
    } catch {
      release(); // the connection is already gone
      return;
    }
    // 0 for a non-empty chunk: the client is gone (Bun's direct streams say so this way).
    if (r === 0 && chunk.length > 0) {
      release();
      return;
    }
    if (typeof r !== "number") {
      blocked = true;
      blockedSince = Date.now();
      r.then(drained, () => release());
    }
  }

  function drained() {
    blocked = false;
    if (done || queue.length === 0) return;
    const chunk = queue.length === 1 ? queue[0]! : queue.join("");
    queue = [];
    queued = 0;
    write(chunk);
  }

  /** Write now, or queue while Bun reports backpressure (up to the cap). */
  function send(frame: string) {
    if (done) return;
    if (!blocked) return write(frame);
    const n = byteLength(frame);
    if (queued + n > cap) return cutOff();
    queue.push(frame);
    queued += n;
  }

  function flush() {
    wroteThisTick = false;
    const chunk = pending;
    pending = "";
    if (chunk !== "") send(chunk);
  }

  // --history: each room's position (the stream's `id:` is all of them), and, while the
  // positions are read, the live frames held back (null once live).
  const roomIndex = opts.resume ? new Map(rooms.map((r, i) => [r, i] as const)) : null;
  const positions: string[] = rooms.map(() => "");
  let held: string[] | null = opts.resume ? [] : null;
  /** Each room's top as read at the resume: a live frame at or before it was replayed already. */
  let resumedTops: Array<Position | null> | null = null;
  /** Replace a frame's position header by this stream's `id:` line; "" for a frame the replay covered. */
  function stamp(frame: string): string {
    const m = splitMarked(frame);
    if (m.position === null) return frame;
    const i = roomIndex?.get(m.room);
    if (i === undefined) return m.text;
    // The history is written before the fan-out: an event the read saw may still come live.
    const cover = resumedTops?.[i];
    if (cover && coveredPosition(m.position, cover)) return "";
    positions[i] = m.position;
    return `id: ${positions.join(",")}\n${m.text}`;
  }

  const sink: Sink = {
    send(encoded) {
      if (done) return;
      if (held !== null) {
        if (held.length >= config.history + 10_000) return cutOff();
        // (the cap: more live frames during one history read than any replay could hold)
        held.push(textOf(encoded));
        return;
      }
      const frame = stamp(textOf(encoded));
      if (frame === "") return;
      // While blocked, frames go to the capped queue one by one (the cap is checked per frame).
      if (blocked) return send(frame);
      if (!wroteThisTick) {
        wroteThisTick = true;
        flushLater(state, flush);
        return write(frame);
      }
      pending += frame;
    },
  };

  /** Too slow (queue past the cap) or stalled (no drain for two heartbeats): drop the client. */
  function cutOff() {
    metrics.inc("ws_emit_drops_total", { reason: "slow_sse" });
    const c = ctl;
    release();
    // Closing with a reason aborts the connection; a plain close would wait to flush what
    // the client never reads. (A non-Error reason: Bun may print it, keep it one word.)
    try {
      c?.close("slow_sse" as unknown as Error);
    } catch {}
  }

  const stream: SseStream = {
    transport: conn.transport,
    sink,
    tick(now) {
      // A dead peer (no RST) or a reader that took nothing for two intervals: with little
      // traffic the queue would take hours to reach the cap.
      if (blocked && ctl && now - blockedSince > 2 * config.heartbeatMs) cutOff();
      else sink.send(SSE_PING);
    },
    end(reason) {
      const c = ctl;
      // Frames of this tick were sent before the end: they go out first, as they always did.
      const rest = blocked ? "" : pending;
      pending = "";
      if (!release()) return;
      try {
        c?.write(`${rest}: ${reason.replace(/[\r\n]/g, " ")}\n\n`);
        c?.close();
      } catch {}
    },
  };

  state.streams.add(stream);
  ctx.streams.add(stream);
  metrics.inc("ws_emit_connections_total", { transport: conn.transport });
  if (opts.broadcast) joinBroadcast(hub, conn, { sink }, formatId, DEFAULT_NAMESPACE);
  for (const room of rooms) {
    joinRoom(hub, conn, { sink }, formatId, DEFAULT_NAMESPACE, room, opts.maxRooms);
    if (conn.transport === "sse") metrics.inc("ws_emit_joins_total", { result: "ok" });
  }
  if (opts.resume) {
    opts.resume.ready = resumeStream(ctx, rooms, opts.resume.lastEventId, formatId, {
      done: () => done,
      // The history cannot answer: end the stream; EventSource comes back with its Last-Event-ID.
      fail: () => stream.end("room history unavailable, reconnect"),
      goLive(gap: string | null, first: string[], start: Array<Position | null>, tops: Position[], covers: Array<Position | null>) {
        const caught = held ?? [];
        held = null;
        // Replayed events advance their room from where the client was; then every room is at
        // the top read, written as an id-only event (EventSource keeps it; no event fires).
        start.forEach((p, i) => (positions[i] = p ? formatPosition(p) : ""));
        const replayed = first.map(stamp).join("");
        tops.forEach((p, i) => (positions[i] = formatPosition(p)));
        resumedTops = covers;
        send(`${gap ?? ""}${replayed}id: ${positions.join(",")}\n\n`);
        // Those covered by the replay are dropped by stamp().
        for (const f of caught) sink.send(f);
      },
    });
  }
  if (!state.timer) {
    state.timer = setInterval(() => {
      const now = Date.now();
      for (const s of state.streams) s.tick(now);
    }, config.heartbeatMs);
    state.timer.unref();
  }
  // A client that goes away cancels the stream (cancel() below releases the rooms). No
  // req.signal listener as well: it costs ~0.7 KiB per idle stream and adds nothing.

  return new ReadableStream({
    type: "direct",
    pull(c: ReadableStreamDirectController) {
      if (done) {
        c.close();
        return;
      }
      ctl = c;
      const first = SSE_PREAMBLE + queue.join("");
      queue = [];
      queued = 0;
      blocked = false;
      write(first);
      // The response lasts as long as this promise is pending.
      return finished;
    },
    cancel() {
      release();
    },
  } satisfies Bun.DirectUnderlyingSource);
}
