/**
 * Every protocol fuzzed against the running server (the real process, as test/helpers/server.ts
 * starts it): batches of mutated frames and requests per protocol; after each batch /healthz
 * must answer within 1 s and RSS (/proc/<pid>/status) stay under a bound. A server that dies is
 * counted as a crash and restarted so the other protocols still get their turn.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { startWsEmit, type Started } from "../helpers/server.ts";
import { mutatedText } from "./mutators.ts";
import { BY_NAME } from "./targets.ts";

export interface ProtocolReport {
  protocol: string;
  batches: number;
  sent: number;
  /** Connections the server closed (or refused), by close code / HTTP status. */
  outcomes: Record<string, number>;
  crashes: number;
  slowestHealthMs: number;
  failure: string | null;
}

export interface ServerFuzzOptions {
  batches: number;
  batchSize: number;
  /** Stop starting new batches after this long (per protocol). */
  secondsPerProtocol: number;
  rssLimitMb: number;
  bin?: boolean;
  seed?: number;
  /** Only these protocols (names below). */
  only?: string[];
  log?: (line: string) => void;
}

const SERVER_ARGS = [
  "--max-message", "1m", // deep frames reach the parsers (the crashes of issue 11 needed ≥ 128k)
  "--max-bad-frames", "100000", "--max-join-failures", "100000", // keep connections open: more frames per connection
  "--roomspace-secret", "dir=S", "--sse-history", "50", "--wspush-max-per-token", "1000",
];

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Percent-encode the UTF-8 bytes of `s` (lone surrogates become U+FFFD; encodeURIComponent would throw). */
const pct = (s: string) => [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`)).join("");

const bump = (o: Record<string, number>, k: string) => void (o[k] = (o[k] ?? 0) + 1);

/** A WebSocket that reports how it ended; sends after a close are dropped. */
function ws(url: string, outcomes: Record<string, number>): Promise<WebSocket | null> {
  return new Promise((resolve) => {
    const s = new WebSocket(url);
    const t = setTimeout(() => (bump(outcomes, "open timeout"), s.close(), resolve(null)), 3000);
    s.onopen = () => (clearTimeout(t), resolve(s));
    s.onerror = () => (clearTimeout(t), resolve(null));
    s.onclose = (e) => (clearTimeout(t), bump(outcomes, `close ${e.code}`), resolve(null));
  });
}

/** Send frames over a socket, reopening it when the server closes it. */
async function frames(url: string, items: string[], outcomes: Record<string, number>, first?: string): Promise<number> {
  let sock: WebSocket | null = null;
  let sent = 0;
  for (const f of items) {
    if (!sock || sock.readyState !== WebSocket.OPEN) {
      sock = await ws(url, outcomes);
      if (!sock) continue;
      if (first) sock.send(first);
    }
    sock.send(f);
    sent++;
  }
  // Wait for the server's close reply: it comes after every frame before it was handled, so a
  // crash is seen by this batch's health check, not blamed on the next protocol.
  if (sock && sock.readyState === WebSocket.OPEN) {
    const open = sock;
    await new Promise<void>((res) => {
      const t = setTimeout(res, 5000);
      open.addEventListener("close", () => (clearTimeout(t), res()));
      open.close();
    });
  }
  return sent;
}

async function status(p: Promise<Response>, outcomes: Record<string, number>): Promise<void> {
  try {
    const r = await p;
    bump(outcomes, String(r.status));
    await r.body?.cancel();
  } catch (e) {
    bump(outcomes, `fetch error ${(e as Error).name}`);
  }
}

const sample = <T>(arb: fc.Arbitrary<T>, n: number, seed: number) => fc.sample(arb, { numRuns: n, seed });

/** Query strings for /sse: valid ones mutated. */
const sseQueries = mutatedText(["room=time", "room=dir::a&secret=S", "room=a&room=b&format=envelope", "room=a&lastEventId=5", `room=dir::a&token=x.y`, "format=event"]);
/** Header values for the no-secret rule: valid ones mutated. */
const headerValues = mutatedText(["127.0.0.1", "203.0.113.5, 127.0.0.1", 'for="[::1]:5555";proto=https', "127.evil.example", "localhost", "http://127.0.0.1", "http://evil.example", "cross-site", "same-origin", "null"]);
/** Paths for /PUBLISH, /roomspaces and wspush's ?token=. */
const publishPaths = mutatedText(["/PUBLISH/time/hello", "/PUBLISH/dir::a/%7B%22a%22%3A1%7D", "/roomspaces/dir/secret", "/roomspaces/%E0%A4%A/secret"]);

type Step = (base: string, n: number, seed: number, outcomes: Record<string, number>) => Promise<number>;

/** One batch of `n` hostile inputs for each protocol. */
export const PROTOCOLS: Record<string, { step: Step }> = {
  "native /ws": {
    step: (b, n, seed, o) => frames(`${b.replace("http", "ws")}/ws`, sample(BY_NAME.nativeFrame.arb, n, seed), o),
  },
  "wsify /ws": {
    step: (b, n, seed, o) => frames(`${b.replace("http", "ws")}/ws`, sample(BY_NAME.wsifyFrame.arb, n, seed), o, '{"command":"join","args":{"channel":"c"}}'),
  },
  "webdis /.json": {
    step: (b, n, seed, o) => frames(`${b.replace("http", "ws")}/.json?secret=S`, sample(BY_NAME.webdisFrame.arb, n, seed), o),
  },
  "wspush ?token= (WebSocket, SSE)": {
    async step(b, n, seed, o) {
      const tokens = sample(BY_NAME.wspushToken.arb, n, seed).map(([t]) => t);
      let sent = 0;
      for (const [i, t] of tokens.entries()) {
        const q = `token=${pct(t)}`;
        if (i % 2) {
          const ctl = new AbortController();
          await status(fetch(`${b}/wspush/sse?${q}`, { signal: ctl.signal }), o);
          ctl.abort();
        } else {
          const s = await ws(`${b.replace("http", "ws")}/wspush?${q}`, o);
          s?.send(t); // wspush clients do not send; a frame anyway
          s?.close();
          if (s) bump(o, "open");
        }
        sent++;
      }
      return sent;
    },
  },
  "Engine.IO polling": {
    async step(b, n, seed, o) {
      const bodies = sample(BY_NAME.enginePackets.arb, n, seed);
      let sid: string | null = null;
      let sent = 0;
      for (const body of bodies) {
        if (!sid) {
          const r = await fetch(`${b}/socket.io/?EIO=4&transport=polling`);
          const t = await r.text();
          if (r.status !== 200 || t[0] !== "0") {
            bump(o, `handshake ${r.status}`);
            continue;
          }
          sid = JSON.parse(t.slice(1)).sid as string;
        }
        const r = await fetch(`${b}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body, headers: { "Content-Type": "text/plain;charset=UTF-8" } });
        bump(o, String(r.status));
        await r.body?.cancel();
        if (r.status !== 200) sid = null;
        sent++;
      }
      return sent;
    },
  },
  "Engine.IO WebSocket": {
    step: (b, n, seed, o) => frames(`${b.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`, sample(BY_NAME.enginePackets.arb, n, seed), o, "40"),
  },
  "SSE query strings": {
    async step(b, n, seed, o) {
      for (const q of sample(sseQueries, n, seed)) {
        const ctl = new AbortController();
        let u: URL;
        try {
          u = new URL(`${b}/sse?${q.replace(/[#\s]/g, (c) => pct(c))}`);
        } catch {
          continue;
        }
        await status(fetch(u, { signal: ctl.signal, headers: { "Last-Event-ID": pct(q.slice(0, 40)) } }), o);
        ctl.abort();
      }
      return n;
    },
  },
  "POST /emit bodies": {
    async step(b, n, seed, o) {
      for (const body of sample(BY_NAME.emitBody.arb, n, seed)) await status(fetch(`${b}/emit`, { method: "POST", body, headers: { "Content-Type": "application/json" } }), o);
      return n;
    },
  },
  "request headers (Host, Origin, Referer, forwarded, Sec-Fetch-Site)": {

    async step(b, n, seed, o) {
      const names = ["Host", "Origin", "Referer", "X-Forwarded-For", "X-Real-IP", "Forwarded", "Sec-Fetch-Site"];
      const values = sample(headerValues, n * names.length, seed);
      for (let i = 0; i < n; i++) {
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        names.forEach((name, j) => {
          const v = values[i * names.length + j]!;
          // What fetch lets through (a byte string without CR, LF, NUL); the rest would never leave.
          if ((i + j) % 3 !== 0) headers[name] = v.replace(/[\r\n\0]/g, "").replace(/[^\x00-\xff]/g, "?");
        });
        const path = ["/emit", "/PUBLISH/time/x", "/broadcast", "/metrics", "/sse?room=a", "/roomspaces/d/secret"][i % 6]!;
        const method = path === "/emit" || path === "/broadcast" ? "POST" : path.startsWith("/roomspaces") ? "PUT" : "GET";
        const ctl = new AbortController();
        await status(fetch(`${b}${path}`, { method, headers, body: method === "GET" ? undefined : '{"event":"x","channel":"c","secret":"s"}', signal: ctl.signal }), o);
        ctl.abort();
      }
      return n;
    },
  },
  "/PUBLISH, /broadcast, /roomspaces": {

    async step(b, n, seed, o) {
      const paths = sample(publishPaths, n, seed);
      const bodies = sample(BY_NAME.emitBody.arb, n, seed + 1);
      for (let i = 0; i < n; i++) {
        const p = paths[i]!;
        const url = `${b}${p.startsWith("/") ? "" : "/"}${p.replace(/[#?\s]/g, (c) => encodeURIComponent(c))}`;
        let u: URL;
        try {
          u = new URL(url);
        } catch {
          continue;
        }
        const m = i % 3;
        await status(fetch(u, m === 0 ? {} : m === 1 ? { method: "POST", body: bodies[i]!, headers: { "Content-Type": "application/json" } } : { method: "PUT", body: bodies[i]!, headers: { "Content-Type": "application/json" } }), o);
        if (i % 5 === 0) await status(fetch(`${b}/broadcast`, { method: "POST", body: bodies[i]!, headers: { "Content-Type": "application/json" } }), o);
      }
      return n;
    },
  },
};

/** /healthz within 1 s: its latency in ms, or null when it did not answer. */
async function health(base: string): Promise<number | null> {
  const t0 = performance.now();
  try {
    const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
    await r.body?.cancel();
    return r.status === 200 ? performance.now() - t0 : null;
  } catch {
    return null;
  }
}

export async function fuzzServer(opts: ServerFuzzOptions): Promise<{ reports: ProtocolReport[]; rssStartMb: number; rssMaxMb: number }> {
  const log = opts.log ?? (() => {});
  let seed = opts.seed ?? (Date.now() ^ (Math.random() * 2 ** 31));
  let srv: Started = await startWsEmit(SERVER_ARGS, { bin: opts.bin });
  const rssStartMb = rssMb(srv.proc.pid);
  let rssMaxMb = rssStartMb;
  const reports: ProtocolReport[] = [];
  try {
    for (const [name, p] of Object.entries(PROTOCOLS)) {
      if (opts.only && !opts.only.includes(name)) continue;
      const r: ProtocolReport = { protocol: name, batches: 0, sent: 0, outcomes: {}, crashes: 0, slowestHealthMs: 0, failure: null };
      const deadline = Date.now() + opts.secondsPerProtocol * 1000;
      for (let i = 0; i < opts.batches && Date.now() < deadline; i++) {
        const batchSeed = seed++;
        r.sent += await p.step(srv.url, opts.batchSize, batchSeed, r.outcomes);
        r.batches++;
        const ms = await health(srv.url);
        const alive = srv.proc.exitCode === null && srv.proc.signalCode === null;
        if (alive) rssMaxMb = Math.max(rssMaxMb, rssMb(srv.proc.pid));
        if (ms === null || !alive) {
          r.crashes++;
          const tail = srv.lines.filter((l) => /error|Error|panic|killed/.test(l)).slice(-3).join(" | ").slice(0, 400);
          r.failure ??= `${alive ? "/healthz did not answer within 1 s" : `server exited (${srv.proc.exitCode ?? srv.proc.signalCode})`} after batch ${i} (seed ${batchSeed}): ${tail}`;
          log(`${name}: ${r.failure}`);
          await srv.stop();
          srv = await startWsEmit(SERVER_ARGS, { bin: opts.bin });
          continue;
        }
        r.slowestHealthMs = Math.max(r.slowestHealthMs, Math.round(ms));
        // 503 is a legitimate answer (draining, a store that is down); 500 is an internal error.
        if (r.outcomes["500"]) r.failure ??= `answered 500 to ${r.outcomes["500"]} hostile request(s) by batch ${i} (seed ${batchSeed}): ${srv.lines.filter((l) => /error/i.test(l)).slice(-2).join(" | ").slice(0, 300)}`;
        if (rssMaxMb > opts.rssLimitMb) {
          r.failure ??= `RSS ${rssMaxMb.toFixed(0)} MB over the ${opts.rssLimitMb} MB bound after batch ${i}`;
          break;
        }
      }
      log(`${name}: ${r.batches} batches, ${r.sent} sent, crashes ${r.crashes}, slowest /healthz ${r.slowestHealthMs} ms, RSS max ${rssMaxMb.toFixed(0)} MB, ${JSON.stringify(r.outcomes)}`);
      reports.push(r);
    }
  } finally {
    await srv.stop();
  }
  return { reports, rssStartMb, rssMaxMb };
}
