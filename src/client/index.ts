/**
 * @ws-emit/client: the browser side of ws-emit. Native WebSocket protocol (/ws) with SSE (/sse)
 * as fallback; reconnects forever with jittered backoff, re-joins its rooms, resumes from each
 * room's last event id. No dependencies; see docs/client.md.
 */

export type State = "connecting" | "open" | "reconnecting" | "closed";
export type Transport = "auto" | "ws" | "sse";

export interface Options {
  /** "auto" (default): WebSocket, SSE while WebSockets fail, back to WebSocket when it works. */
  transport?: Transport;
  /** First reconnect delay (ms, default 500); doubles per failure up to maxDelay. */
  minDelay?: number;
  /** Reconnect delay cap (ms, default 30000). */
  maxDelay?: number;
  /** While on the SSE fallback, try WebSocket again this often (ms, default 60000). */
  wsRetry?: number;
}

export interface JoinOptions {
  /** The roomspace secret (rooms named "space::room"). */
  secret?: string;
  /** A signed token (`ws-emit token`), instead of a secret. */
  token?: string;
}

/** Where an event came from: its room (absent for a broadcast) and its id (when the server keeps history). */
export interface Meta {
  room?: string;
  id?: string;
  /** The event's name (useful in a "*" handler). */
  event?: string;
}

export interface ErrorInfo {
  code: string;
  message?: string;
  room?: string;
  reason?: string;
}

export type Handler = (data: any, meta: Meta) => void;

export interface Client {
  join(room: string, opts?: JoinOptions): Client;
  leave(room: string): Client;
  /** Events by name ("*": every event from the server), and "state" (State), "error" (ErrorInfo), "joined"/"left"/"gap" ({room}). */
  on(event: string, fn: Handler): Client;
  off(event: string, fn: Handler): Client;
  readonly state: State;
  /** The transport in use now: "ws" or "sse" (null before the first connection). */
  readonly transport: "ws" | "sse" | null;
  /** Rooms joined (or being joined). */
  rooms(): string[];
  close(): void;
}

interface Room extends JoinOptions {
  /** Id of the last event seen in this room: sent as `since` on a re-join. */
  last?: string;
}

/** Close codes after which the server wants us elsewhere soon (1012 drain/restart, 1001 going away). */
const PROMPT = [1001, 1012];
/** Join refusals that will not change by retrying: the room is dropped. */
const FATAL = ["forbidden", "bad_request", "too_many_rooms"];
const PING_MS = 25000;

export function connect(url?: string, opts: Options = {}): Client {
  const loc = (globalThis as any).location;
  const base = new URL(url ?? loc.origin, loc?.href);
  // A path prefix (behind a proxy at /push/) is kept: endpoints resolve relative to it.
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const mode = opts.transport ?? "auto";
  const minDelay = opts.minDelay ?? 500;
  const maxDelay = opts.maxDelay ?? 30000;
  const wsRetry = opts.wsRetry ?? 60000;
  const rooms = new Map<string, Room>();
  const handlers = new Map<string, Set<Handler>>();
  let state: State = "connecting";
  let current: "ws" | "sse" | null = null;
  let ws: WebSocket | null = null;
  let streams: EventSource[] = [];
  let attempts = 0;
  let everOpen = false;
  let timer: any;
  let pinger: any;
  let probeTimer: any;
  let sseDirty = false;
  /** Joins still unanswered on a WebSocket that is taking over from SSE. */
  let switching = 0;
  /** Last event id seen on the SSE streams (sent as lastEventId when we reopen them ourselves). */
  let sseLast: string | undefined;

  const emit = (event: string, data?: unknown, meta: Meta = {}) => {
    for (const fn of handlers.get(event) ?? []) {
      try {
        fn(data, meta);
      } catch (e) {
        // One handler's bug must not stop the others, nor the connection.
        setTimeout(() => {
          throw e;
        });
      }
    }
  };
  const setState = (s: State) => {
    if (s !== state) emit("state", (state = s));
  };

  const endpoint = (path: string, ws?: boolean) => {
    const u = new URL(path, base);
    if (ws) u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u;
  };

  const joinFrame = (room: string, r: Room) =>
    JSON.stringify({ type: "join", room, secret: r.secret, token: r.token, since: r.last });

  /** Deliver one native event object (WebSocket frame, or SSE envelope). */
  const onEvent = (m: any) => {
    const r = m.room === undefined ? undefined : rooms.get(m.room);
    if (m.id !== undefined && r) r.last = m.id;
    const meta = { room: m.room, id: m.id, event: m.event };
    emit(m.event, m.args ?? m.data, meta);
    emit("*", m.args ?? m.data, meta);
  };

  const refused = (e: ErrorInfo) => {
    const room = e.room;
    if (room !== undefined && FATAL.includes(e.code)) rooms.delete(room);
    // The server could not check the join (its secret store is down): ask again a bit later.
    if (room !== undefined && e.code === "unavailable")
      setTimeout(() => {
        const r = rooms.get(room);
        if (r && ws?.readyState === 1) ws.send(joinFrame(room, r));
      }, minDelay * (2 + Math.random() * 8));
    emit("error", e);
  };

  // ---- WebSocket ----
  function openWs(probe?: boolean) {
    const s = new WebSocket(endpoint("ws", true));
    let opened = false;
    if (!probe) ws = s;
    s.onopen = () => {
      opened = true;
      if (probe) {
        // WebSockets work again: move over. The streams stay until every room is joined here
        // (an event may then come twice, none is lost).
        if (state === "closed" || current !== "sse") return s.close();
        ws = s;
        switching = rooms.size;
        if (!switching) closeStreams();
      }
      current = "ws";
      opened_();
      for (const [room, r] of rooms) s.send(joinFrame(room, r));
      clearInterval(pinger);
      let waiting = false;
      pinger = setInterval(() => {
        // No pong since the last ping: the connection is dead without a close (NAT, sleep).
        if (waiting) return s.close();
        waiting = true;
        s.send('{"type":"ping"}');
      }, PING_MS);
      s.onmessage = (e) => {
        waiting = false;
        let m: any;
        try {
          m = JSON.parse(e.data);
        } catch {
          return;
        }
        if (m.type === "event") onEvent(m);
        else if (m.room !== undefined && (m.type === "joined" || m.type === "error") && switching && !--switching) closeStreams();
        if (m.type === "joined") {
          // With history the reply names the room's position: a room that gets no event before
          // the connection drops still resumes from here, not from "now" (a silent hole).
          const jr = rooms.get(m.room);
          if (jr && jr.last === undefined && typeof m.position === "string") jr.last = m.position;
          emit("joined", { room: m.room });
          if (m.recovered === false) emit("gap", { room: m.room });
        } else if (m.type === "left") emit("left", { room: m.room });
        else if (m.type === "error") refused({ code: m.code, message: m.message, room: m.room, reason: m.reason });
      };
    };
    s.onclose = (e) => {
      if (probe && !opened) return scheduleProbe();
      if (ws !== s) return;
      ws = null;
      // Lost in the middle of a switch from SSE: those streams go too.
      switching = 0;
      closeStreams();
      clearInterval(pinger);
      if (state === "closed") return;
      // Never opened in auto mode: maybe a proxy refuses upgrades. Try SSE right away (after a
      // few failures too when WebSocket used to work: the network may have changed).
      if (!opened && mode === "auto" && (current !== "ws" || attempts > 2)) return openSse();
      lost(PROMPT.includes(e.code));
    };
  }

  // ---- SSE ----
  /** One stream per set of credentials (a stream carries one secret or token). */
  function openSse() {
    closeStreams();
    if (state === "closed") return;
    sseDirty = false;
    const groups = new Map<string, { r: Room; names: string[] }>();
    for (const [room, r] of rooms) {
      const key = JSON.stringify([r.secret, r.token]);
      const g = groups.get(key) ?? { r, names: [] };
      g.names.push(room);
      groups.set(key, g);
    }
    if (groups.size === 0) groups.set("", { r: {}, names: [] });
    let first = true;
    for (const { r, names } of groups.values()) {
      const u = endpoint("sse");
      const q = u.searchParams;
      q.set("format", "envelope");
      for (const n of names) q.append("room", n);
      if (r.secret) q.set("secret", r.secret);
      if (r.token) q.set("token", r.token);
      if (sseLast) q.set("lastEventId", sseLast);
      const es: EventSource = new (globalThis as any).EventSource(u);
      // Every stream also receives broadcasts: take them from the first only.
      const main = first;
      first = false;
      let opened = false;
      streams.push(es);
      es.onopen = () => {
        opened = true;
        if (current !== "sse" || state !== "open") {
          current = "sse";
          opened_();
          if (mode === "auto") scheduleProbe();
        }
        for (const n of names) emit("joined", { room: n });
      };
      es.onmessage = (e) => {
        let m: any;
        try {
          m = JSON.parse(e.data);
        } catch {
          return;
        }
        // The SSE `id:` field (history on) is what a reopened stream resumes from; the envelope may carry the room's id too.
        if (e.lastEventId) {
          sseLast = e.lastEventId;
          m.id ??= sseLast;
        }
        if (m.type === "event" && (main || m.room !== undefined)) onEvent(m);
      };
      es.onerror = () => {
        if (!streams.includes(es)) return;
        closeStreams();
        // Already handed over to a WebSocket (see openWs), or closed: nothing to recover.
        if (state === "closed" || ws) return;
        if (opened) return lost(false);
        // Refused before the stream started: EventSource hides why, so ask once (a 4xx has a JSON body).
        fetch(u, { headers: { Accept: "application/json" } }).then(
          async (res) => {
            const body: any = res.ok ? null : await res.json().catch(() => null);
            if (res.ok) res.body?.cancel();
            const before = rooms.size;
            const e = body && { code: body.error, message: body.message };
            if (e && res.status < 500 && res.status !== 429 && names.length) for (const room of names) refused({ ...e, room });
            else if (e) emit("error", e);
            // Refused rooms dropped: reopen with the others now. Otherwise (origin, limits, a
            // node going down) wait like any failure, never in a tight loop.
            if (rooms.size < before) return openSse();
            lost(false);
          },
          () => lost(false),
        );
      };
    }
  }

  function closeStreams() {
    for (const es of streams) es.close();
    streams = [];
  }

  /** SSE cannot change rooms on an open stream: reopen (once per tick of joins/leaves). */
  function resync() {
    if (!streams.length || sseDirty) return;
    sseDirty = true;
    queueMicrotask(() => sseDirty && openSse());
  }

  function scheduleProbe() {
    clearTimeout(probeTimer);
    if (mode === "auto" && current === "sse" && state !== "closed") probeTimer = setTimeout(() => current === "sse" && openWs(true), wsRetry);
  }

  // ---- lifecycle ----
  function opened_() {
    attempts = 0;
    everOpen = true;
    setState("open");
  }

  /** The connection is gone: come back after a jittered backoff (0–1 s after a drain). */
  function lost(prompt: boolean) {
    if (state === "closed") return;
    clearTimeout(timer);
    clearTimeout(probeTimer);
    setState(everOpen ? "reconnecting" : "connecting");
    const cap = Math.min(maxDelay, minDelay * 2 ** attempts++);
    const delay = prompt ? Math.random() * 1000 : cap / 2 + (Math.random() * cap) / 2;
    timer = setTimeout(start, delay);
  }

  function start() {
    if (state === "closed") return;
    if (mode === "sse" || (mode === "auto" && current === "sse")) {
      // On the fallback, each reconnect tries WebSocket first again.
      if (mode === "sse") return openSse();
      current = null;
    }
    openWs();
  }

  const client: Client = {
    join(room, o = {}) {
      const r: Room = { secret: o.secret, token: o.token };
      rooms.set(room, r);
      if (ws && ws.readyState === 1) ws.send(joinFrame(room, r));
      resync();
      return client;
    },
    leave(room) {
      rooms.delete(room);
      if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "leave", room }));
      resync();
      return client;
    },
    on(event, fn) {
      handlers.get(event)?.add(fn) ?? handlers.set(event, new Set([fn]));
      return client;
    },
    off(event, fn) {
      handlers.get(event)?.delete(fn);
      return client;
    },
    get state() {
      return state;
    },
    get transport() {
      return current;
    },
    rooms: () => [...rooms.keys()],
    close() {
      if (state === "closed") return;
      clearTimeout(timer);
      clearTimeout(probeTimer);
      clearInterval(pinger);
      setState("closed");
      ws?.close(1000);
      ws = null;
      closeStreams();
    },
  };
  // Let the caller attach handlers and join rooms first: those joins go out with the first open.
  queueMicrotask(start);
  return client;
}
