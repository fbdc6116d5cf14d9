// src/client/index.ts
var PROMPT = [1001, 1012];
var FATAL = ["forbidden", "bad_request", "too_many_rooms"];
var PING_MS = 25000;
function connect(url, opts = {}) {
  const loc = globalThis.location;
  const base = new URL(url ?? loc.origin, loc?.href);
  if (!base.pathname.endsWith("/"))
    base.pathname += "/";
  const mode = opts.transport ?? "auto";
  const minDelay = opts.minDelay ?? 500;
  const maxDelay = opts.maxDelay ?? 30000;
  const wsRetry = opts.wsRetry ?? 60000;
  const rooms = new Map;
  const handlers = new Map;
  let state = "connecting";
  let current = null;
  let ws = null;
  let streams = [];
  let attempts = 0;
  let everOpen = false;
  let timer;
  let pinger;
  let probeTimer;
  let sseDirty = false;
  let switching = 0;
  let sseLast;
  const emit = (event, data, meta = {}) => {
    for (const fn of handlers.get(event) ?? []) {
      try {
        fn(data, meta);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  };
  const setState = (s) => {
    if (s !== state)
      emit("state", state = s);
  };
  const endpoint = (path, ws) => {
    const u = new URL(path, base);
    if (ws)
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u;
  };
  const joinFrame = (room, r) => JSON.stringify({ type: "join", room, secret: r.secret, token: r.token, since: r.last });
  const onEvent = (m) => {
    const r = m.room === undefined ? undefined : rooms.get(m.room);
    if (m.id !== undefined && r)
      r.last = m.id;
    const meta = { room: m.room, id: m.id, event: m.event };
    emit(m.event, m.args ?? m.data, meta);
    emit("*", m.args ?? m.data, meta);
  };
  const refused = (e) => {
    const room = e.room;
    if (room !== undefined && FATAL.includes(e.code))
      rooms.delete(room);
    if (room !== undefined && e.code === "unavailable")
      setTimeout(() => {
        const r = rooms.get(room);
        if (r && ws?.readyState === 1)
          ws.send(joinFrame(room, r));
      }, minDelay * (2 + Math.random() * 8));
    emit("error", e);
  };
  function openWs(probe) {
    const s = new WebSocket(endpoint("ws", true));
    let opened = false;
    if (!probe)
      ws = s;
    s.onopen = () => {
      opened = true;
      if (probe) {
        if (state === "closed" || current !== "sse")
          return s.close();
        ws = s;
        switching = rooms.size;
        if (!switching)
          closeStreams();
      }
      current = "ws";
      opened_();
      for (const [room, r] of rooms)
        s.send(joinFrame(room, r));
      clearInterval(pinger);
      let waiting = false;
      pinger = setInterval(() => {
        if (waiting)
          return s.close();
        waiting = true;
        s.send('{"type":"ping"}');
      }, PING_MS);
      s.onmessage = (e) => {
        waiting = false;
        let m;
        try {
          m = JSON.parse(e.data);
        } catch {
          return;
        }
        if (m.type === "event")
          onEvent(m);
        else if (m.room !== undefined && (m.type === "joined" || m.type === "error") && switching && !--switching)
          closeStreams();
        if (m.type === "joined") {
          const jr = rooms.get(m.room);
          if (jr && jr.last === undefined && typeof m.position === "string")
            jr.last = m.position;
          emit("joined", { room: m.room });
          if (m.recovered === false)
            emit("gap", { room: m.room });
        } else if (m.type === "left")
          emit("left", { room: m.room });
        else if (m.type === "error")
          refused({ code: m.code, message: m.message, room: m.room, reason: m.reason });
      };
    };
    s.onclose = (e) => {
      if (probe && !opened)
        return scheduleProbe();
      if (ws !== s)
        return;
      ws = null;
      switching = 0;
      closeStreams();
      clearInterval(pinger);
      if (state === "closed")
        return;
      if (!opened && mode === "auto" && (current !== "ws" || attempts > 2))
        return openSse();
      lost(PROMPT.includes(e.code));
    };
  }
  function openSse() {
    closeStreams();
    if (state === "closed")
      return;
    sseDirty = false;
    const groups = new Map;
    for (const [room, r] of rooms) {
      const key = JSON.stringify([r.secret, r.token]);
      const g = groups.get(key) ?? { r, names: [] };
      g.names.push(room);
      groups.set(key, g);
    }
    if (groups.size === 0)
      groups.set("", { r: {}, names: [] });
    let first = true;
    for (const { r, names } of groups.values()) {
      const u = endpoint("sse");
      const q = u.searchParams;
      q.set("format", "envelope");
      for (const n of names)
        q.append("room", n);
      if (r.secret)
        q.set("secret", r.secret);
      if (r.token)
        q.set("token", r.token);
      if (sseLast)
        q.set("lastEventId", sseLast);
      const es = new globalThis.EventSource(u);
      const main = first;
      first = false;
      let opened = false;
      streams.push(es);
      es.onopen = () => {
        opened = true;
        if (current !== "sse" || state !== "open") {
          current = "sse";
          opened_();
          if (mode === "auto")
            scheduleProbe();
        }
        for (const n of names)
          emit("joined", { room: n });
      };
      es.onmessage = (e) => {
        let m;
        try {
          m = JSON.parse(e.data);
        } catch {
          return;
        }
        if (e.lastEventId) {
          sseLast = e.lastEventId;
          m.id ??= sseLast;
        }
        if (m.type === "event" && (main || m.room !== undefined))
          onEvent(m);
      };
      es.onerror = () => {
        if (!streams.includes(es))
          return;
        closeStreams();
        if (state === "closed" || ws)
          return;
        if (opened)
          return lost(false);
        fetch(u, { headers: { Accept: "application/json" } }).then(async (res) => {
          const body = res.ok ? null : await res.json().catch(() => null);
          if (res.ok)
            res.body?.cancel();
          const before = rooms.size;
          const e = body && { code: body.error, message: body.message };
          if (e && res.status < 500 && res.status !== 429 && names.length)
            for (const room of names)
              refused({ ...e, room });
          else if (e)
            emit("error", e);
          if (rooms.size < before)
            return openSse();
          lost(false);
        }, () => lost(false));
      };
    }
  }
  function closeStreams() {
    for (const es of streams)
      es.close();
    streams = [];
  }
  function resync() {
    if (!streams.length || sseDirty)
      return;
    sseDirty = true;
    queueMicrotask(() => sseDirty && openSse());
  }
  function scheduleProbe() {
    clearTimeout(probeTimer);
    if (mode === "auto" && current === "sse" && state !== "closed")
      probeTimer = setTimeout(() => current === "sse" && openWs(true), wsRetry);
  }
  function opened_() {
    attempts = 0;
    everOpen = true;
    setState("open");
  }
  function lost(prompt) {
    if (state === "closed")
      return;
    clearTimeout(timer);
    clearTimeout(probeTimer);
    setState(everOpen ? "reconnecting" : "connecting");
    const cap = Math.min(maxDelay, minDelay * 2 ** attempts++);
    const delay = prompt ? Math.random() * 1000 : cap / 2 + Math.random() * cap / 2;
    timer = setTimeout(start, delay);
  }
  function start() {
    if (state === "closed")
      return;
    if (mode === "sse" || mode === "auto" && current === "sse") {
      if (mode === "sse")
        return openSse();
      current = null;
    }
    openWs();
  }
  const client = {
    join(room, o = {}) {
      const r = { secret: o.secret, token: o.token };
      rooms.set(room, r);
      if (ws && ws.readyState === 1)
        ws.send(joinFrame(room, r));
      resync();
      return client;
    },
    leave(room) {
      rooms.delete(room);
      if (ws && ws.readyState === 1)
        ws.send(JSON.stringify({ type: "leave", room }));
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
      if (state === "closed")
        return;
      clearTimeout(timer);
      clearTimeout(probeTimer);
      clearInterval(pinger);
      setState("closed");
      ws?.close(1000);
      ws = null;
      closeStreams();
    }
  };
  queueMicrotask(start);
  return client;
}
export {
  connect
};
