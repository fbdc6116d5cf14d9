/**
 * Load generator: a separate Bun process (so its CPU is measured apart from the server's).
 * Opens C subscribers of one protocol, waits until every one has joined, then publishes up to
 * M messages (bounded in count and time, with a bounded number of undelivered messages in
 * flight), counts deliveries and publish→deliver latency, and prints one JSON line.
 *
 *   bun bench/loadgen.ts '<Spec as JSON>'
 *
 * After the result line it waits for stdin to close (the orchestrator stops the server first,
 * so the client side of every socket sees the close and leaves no TIME_WAIT), at most 30 s.
 */
import { RedisClient } from "bun";
import { connectHttp } from "./http-client.ts";
import { cpuSeconds, machineBusySeconds, rssKiB } from "./proc.ts";

export type Protocol =
  /** JSON frames, joined on {"type":"joined"} (ws-emit native, bun-raw). */
  | "native"
  /** Engine.IO 4 / Socket.IO 5 over WebSocket, joined on the ack of `join`. */
  | "sio"
  /** Server-Sent Events over a raw HTTP/1.1 connection, joined when the stream's headers arrive. */
  | "sse"
  /** A WebSocket that is subscribed once open (nchan). */
  | "ws-open";

export type Publish =
  /** POST a JSON array of emit objects ({event, room, data}) per batch. */
  | { kind: "http-batch"; url: string }
  /** POST one message per request to url (with {room}); the body is the native frame. */
  | { kind: "http-single"; url: string }
  /** Redis PUBLISH of emit objects on a channel, a batch pipelined at once. */
  | { kind: "redis"; url: string; channel: string };

export interface Spec {
  mode: "deliver" | "idle";
  protocol: Protocol;
  /** http://host:port of the server. */
  base: string;
  /** Subscribe path with {room}, e.g. "/ws?room={room}". */
  subPath: string;
  /** "one": every subscriber in room "bench"; "each": subscriber i alone in room "t<i>", emits round-robin. */
  rooms: "one" | "each";
  subscribers: number;
  messages: number;
  /** Bound of the publish phase in seconds. */
  maxSeconds: number;
  /** Messages published but not yet delivered to all their subscribers, at most. */
  window: number;
  /** Messages per publish request (http-batch, redis). */
  batch: number;
  /** Publish requests in flight at once. */
  concurrency: number;
  publish?: Publish;
  /** Server processes whose RSS and CPU are measured (nginx: master and worker). */
  pids: number[];
  /** Connections being opened at once. */
  connectConcurrency: number;
  /** Bound of the connect phase in seconds. */
  connectSeconds: number;
  /** Idle mode: wait this long after the last join before reading RSS. */
  settleMs: number;
  /** Put before every room name, e.g. "pres::" for a roomspace (bench/presence.ts); default none. */
  roomPrefix?: string;
}

export interface Result {
  joined: number;
  connectErrors: number;
  connectSeconds: number;
  published: number;
  publishErrors: number;
  expected: number;
  delivered: number;
  lost: number;
  extra: number;
  disconnects: number;
  publishSeconds: number;
  deliverSeconds: number;
  deliveriesPerSec: number;
  publishPerSec: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
  rssBeforeKiB: number;
  rssJoinedKiB: number;
  rssPerConnKiB: number;
  serverCpuPct: number;
  loadgenCpuPct: number;
  /** CPU used meanwhile by processes other than the server and this load generator (% of one core). */
  otherCpuPct: number;
  stalled: boolean;
}

const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// ---------- latency histogram: 10 µs buckets below 100 ms, 1 ms buckets up to 60 s ----------
const FINE = 10_000;
const hist = new Uint32Array(FINE + 60_000);
let latMax = 0;
let latCount = 0;
function record(ms: number) {
  if (ms < 0) ms = 0;
  const i = ms < 100 ? Math.floor(ms * 100) : Math.min(hist.length - 1, FINE + Math.floor(ms - 100));
  hist[i]!++;
  latCount++;
  if (ms > latMax) latMax = ms;
}
function percentile(p: number): number {
  const target = Math.ceil(latCount * p);
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i]!;
    if (acc >= target) return i < FINE ? (i + 1) / 100 : 100 + (i - FINE + 1);
  }
  return latMax;
}

// ---------- state ----------
const spec: Spec = JSON.parse(process.argv[2] ?? "{}");
const C = spec.subscribers;
const fanout = spec.rooms === "one" ? C : 1;
const roomOf = (i: number) => (spec.roomPrefix ?? "") + (spec.rooms === "one" ? "bench" : `t${i % C}`);
const PAD = "x".repeat(24);

let joined = 0;
let connectErrors = 0;
let disconnects = 0;
let delivered = 0;
let published = 0;
let publishErrors = 0;
let measuring = false;
let waiters: Array<() => void> = [];
let joinWaiter: (() => void) | null = null;
let lastDelivery = 0;
const threshold = () => (spec.window - spec.batch) * fanout;

function onDelivery(text: string, at: number) {
  const i = text.indexOf('"ts":');
  if (i < 0) return;
  delivered++;
  lastDelivery = at;
  if (measuring) record(at - parseFloat(text.slice(i + 5, i + 30)));
  if (waiters.length > 0 && published * fanout - delivered <= threshold()) {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  }
}

function onJoined() {
  joined++;
  joinWaiter?.();
}

function onGone(wasJoined: boolean) {
  if (wasJoined) disconnects++;
  else {
    connectErrors++;
    joinWaiter?.();
  }
}

// ---------- subscribers ----------
const sockets: Array<{ close(): void }> = [];
const host = new URL(spec.base);

function subscribe(i: number) {
  const path = spec.subPath.replace("{room}", encodeURIComponent(roomOf(i)));
  if (spec.protocol === "sse") return subscribeSse(path);
  const ws = new WebSocket(spec.base.replace(/^http/, "ws") + path);
  sockets.push(ws);
  let isJoined = false;
  const join = () => {
    if (!isJoined) {
      isJoined = true;
      onJoined();
    }
  };
  ws.onclose = () => onGone(isJoined);
  if (spec.protocol === "ws-open") {
    ws.onopen = join;
    ws.onmessage = (e) => onDelivery(e.data as string, performance.now());
  } else if (spec.protocol === "native") {
    ws.onmessage = (e) => {
      const t = e.data as string;
      if (t.startsWith('{"type":"joined"')) join();
      else onDelivery(t, performance.now());
    };
  } else {
    const room = roomOf(i);
    ws.onmessage = (e) => {
      const t = e.data as string;
      if (t.startsWith("42")) return onDelivery(t, performance.now());
      if (t === "2") return ws.send("3");
      if (t.startsWith("0{")) return ws.send("40");
      if (t.startsWith("40")) return ws.send(`420["join",${JSON.stringify({ room })}]`);
      if (t.startsWith("430")) {
        if (t.includes('"ok":true')) join();
        else ws.close();
      }
    };
  }
}

/** SSE on a raw socket: HTTP/1.1 headers, then a chunked (or plain) body of `\n\n`-ended events. */
function subscribeSse(path: string) {
  let head = "";
  let headerDone = false;
  let chunked = false;
  let raw = "";
  let need = -1; // -1: reading a chunk-size line; >0: chunk bytes left; 0: the CRLF after a chunk
  let body = "";
  let isJoined = false;
  const events = (s: string, at: number) => {
    body += s;
    let start = 0;
    let end: number;
    while ((end = body.indexOf("\n\n", start)) >= 0) {
      onDelivery(body.slice(start, end), at);
      start = end + 2;
    }
    body = start === 0 ? body : body.slice(start);
  };
  const dechunk = (s: string): string => {
    raw += s;
    let out = "";
    for (;;) {
      if (need === -1) {
        const i = raw.indexOf("\r\n");
        if (i < 0) break;
        need = parseInt(raw.slice(0, i), 16);
        raw = raw.slice(i + 2);
        if (need === 0) need = -2; // last chunk: ignore the rest
      } else if (need > 0) {
        if (raw.length === 0) break;
        const take = Math.min(need, raw.length);
        out += raw.slice(0, take);
        raw = raw.slice(take);
        need -= take;
      } else if (need === 0) {
        if (raw.length < 2) break;
        raw = raw.slice(2);
        need = -1;
      } else break;
    }
    return out;
  };
  Bun.connect({
    hostname: host.hostname,
    port: Number(host.port),
    socket: {
      open(s) {
        sockets.push({ close: () => s.end() });
        s.write(`GET ${path} HTTP/1.1\r\nHost: ${host.host}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`);
      },
      data(s, buf) {
        const at = performance.now();
        let t = buf.toString("latin1");
        if (!headerDone) {
          head += t;
          const i = head.indexOf("\r\n\r\n");
          if (i < 0) return;
          const headers = head.slice(0, i);
          t = head.slice(i + 4);
          head = "";
          headerDone = true;
          chunked = /\r\ntransfer-encoding:\s*chunked/i.test(headers);
          if (!/^HTTP\/1\.[01] 200/.test(headers)) {
            s.end();
            return;
          }
          isJoined = true;
          onJoined();
        }
        events(chunked ? dechunk(t) : t, at);
      },
      close() {
        onGone(isJoined);
      },
      error() {},
      connectError() {
        onGone(false);
      },
    },
  }).catch(() => onGone(false));
}

async function connectAll(): Promise<number> {
  const t0 = performance.now();
  const deadline = t0 + spec.connectSeconds * 1000;
  let opened = 0;
  while ((joined + connectErrors < C) && performance.now() < deadline) {
    while (opened < C && opened - joined - connectErrors < spec.connectConcurrency) subscribe(opened++);
    await new Promise<void>((r) => {
      joinWaiter = r;
      setTimeout(r, 200);
    });
    joinWaiter = null;
  }
  return (performance.now() - t0) / 1000;
}

// ---------- publishing ----------
function emitJson(seq: number, ts: number): string {
  return `{"event":"tick","room":"${roomOf(seq)}","data":{"seq":${seq},"ts":${ts.toFixed(3)},"pad":"${PAD}"}}`;
}
function frameJson(seq: number, ts: number): string {
  return `{"type":"event","room":"${roomOf(seq)}","event":"tick","data":{"seq":${seq},"ts":${ts.toFixed(3)},"pad":"${PAD}"}}`;
}

async function makeSender(): Promise<(first: number, n: number, ts: number) => Promise<void>> {
  const p = spec.publish!;
  if (p.kind === "redis") {
    const redis = new RedisClient(p.url);
    await redis.connect();
    // One PUBLISH per batch, a JSON array of emits: the same batching as POST /emit gets.
    return async (first, n, ts) => {
      if (n === 1) return void (await redis.publish(p.channel, emitJson(first, ts)));
      const items: string[] = [];
      for (let k = 0; k < n; k++) items.push(emitJson(first + k, ts));
      await redis.publish(p.channel, `[${items.join(",")}]`);
    };
  }
  const http = await connectHttp(p.url);
  const path = (room: string) => {
    const u = new URL(p.url.replace("{room}", encodeURIComponent(room)));
    return u.pathname + u.search;
  };
  if (p.kind === "http-batch") {
    const batchPath = path("");
    return async (first, n, ts) => {
      const items: string[] = [];
      for (let k = 0; k < n; k++) items.push(emitJson(first + k, ts));
      if ((await http.post(batchPath, `[${items.join(",")}]`)) >= 300) publishErrors += n;
    };
  }
  return async (first, n, ts) => {
    for (let k = 0; k < n; k++) if ((await http.post(path(roomOf(first + k)), frameJson(first + k, ts))) >= 300) publishErrors++;
  };
}

async function publishAll(deadline: number): Promise<boolean> {
  let stalled = false;
  const windowOpen = () =>
    published * fanout - delivered <= threshold()
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            stalled = true; // nothing delivered for 5 s: stop publishing, report what arrived
            resolve();
          }, 5000);
          waiters.push(() => (clearTimeout(t), resolve()));
        });
  const worker = async () => {
    const send = await makeSender();
    while (published < spec.messages && !stalled && performance.now() < deadline) {
      await windowOpen();
      if (stalled || published >= spec.messages || performance.now() >= deadline) break;
      const n = Math.min(spec.batch, spec.messages - published);
      const first = published;
      published += n;
      try {
        await send(first, n, performance.now());
      } catch {
        publishErrors += n;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  return stalled;
}

// ---------- main ----------
const rssBeforeKiB = rssKiB(spec.pids);
const connectSeconds = await connectAll();
let result: Result;
const base = {
  connectSeconds: round(connectSeconds, 2),
  rssBeforeKiB,
};
if (spec.mode === "idle") {
  await Bun.sleep(spec.settleMs);
  Bun.gc(true);
  const rssJoinedKiB = rssKiB(spec.pids);
  result = {
    ...base,
    joined,
    connectErrors,
    published: 0,
    publishErrors: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    extra: 0,
    disconnects,
    publishSeconds: 0,
    deliverSeconds: 0,
    deliveriesPerSec: 0,
    publishPerSec: 0,
    latencyMs: null,
    rssJoinedKiB,
    rssPerConnKiB: joined ? round((rssJoinedKiB - rssBeforeKiB) / joined, 2) : 0,
    serverCpuPct: 0,
    loadgenCpuPct: 0,
    otherCpuPct: 0,
    stalled: false,
  };
} else {
  await Bun.sleep(300); // let the last joins' replies drain
  const rssJoinedKiB = rssKiB(spec.pids);
  const cpu0 = cpuSeconds(spec.pids);
  const self0 = selfCpu();
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  measuring = true;
  const stalled = await publishAll(t0 + spec.maxSeconds * 1000);
  const tPub = performance.now();
  // Drain: until everything arrived, or nothing arrived for 3 s (bounded by a hard cap).
  const expected = published * fanout;
  const hardCap = tPub + 30_000;
  lastDelivery = Math.max(lastDelivery, tPub);
  while (delivered < expected && performance.now() - lastDelivery < 3000 && performance.now() < hardCap) await Bun.sleep(5);
  const tEnd = delivered >= expected ? lastDelivery : performance.now();
  measuring = false;
  const elapsed = (tEnd - t0) / 1000;
  const serverCpu = cpuSeconds(spec.pids) - cpu0;
  const selfCpuUsed = selfCpu() - self0;
  const otherCpu = machineBusySeconds() - busy0 - serverCpu - selfCpuUsed;
  result = {
    ...base,
    joined,
    connectErrors,
    published,
    publishErrors,
    expected,
    delivered,
    lost: Math.max(0, expected - delivered),
    extra: Math.max(0, delivered - expected),
    disconnects,
    publishSeconds: round((tPub - t0) / 1000, 3),
    deliverSeconds: round(elapsed, 3),
    deliveriesPerSec: Math.round(Math.min(delivered, expected) / elapsed),
    publishPerSec: Math.round(published / ((tPub - t0) / 1000)),
    latencyMs: latCount ? { p50: round(percentile(0.5), 2), p99: round(percentile(0.99), 2), max: round(latMax, 2) } : null,
    rssJoinedKiB,
    rssPerConnKiB: joined ? round((rssJoinedKiB - rssBeforeKiB) / joined, 2) : 0,
    serverCpuPct: Math.round((serverCpu / elapsed) * 100),
    loadgenCpuPct: Math.round((selfCpuUsed / elapsed) * 100),
    otherCpuPct: Math.max(0, Math.round((otherCpu / elapsed) * 100)),
    stalled,
  };
}
console.log(JSON.stringify(result));

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

// Wait for the orchestrator (it stops the server, then closes our stdin), at most 30 s.
await Promise.race([
  (async () => {
    for await (const _ of Bun.stdin.stream()) {
    }
  })(),
  Bun.sleep(30_000),
]);
process.exit(0);
