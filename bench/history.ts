/**
 * Room history costs (loopback only, bounded in count and time; the machine is shared: compare
 * the on/off numbers of one run, not across runs):
 *   1. fan-out: batches POSTed to node A reach WebSocket clients on node B, history off vs on;
 *   2. Redis ingest: `PUBLISH ws-emit [batch]` reaching clients on both nodes, off vs on;
 *   3. resume storm: CLIENTS native clients reconnect at once to a node, each BEHIND events
 *      behind: time until every one has its replay, and Redis commands per resume.
 * Run: bun bench/history.ts [emits=10000] [clients=2000] [behind=50]   (ONLY=ingest: skip the fan-out runs)
 */
import { startRedis, redisCli } from "../test/helpers/redis.ts";
import { emit, startWsEmit, type Started } from "../test/helpers/server.ts";

const EMITS = Number(process.argv[2] ?? 10_000);
const CLIENTS = Number(process.argv[3] ?? 2000);
const BEHIND = Number(process.argv[4] ?? 50);
const BATCH = 500;
const ROOMS = Array.from({ length: 16 }, (_, i) => `hb-${i}`);
const LISTENERS = 10;

await using redis = await startRedis();

async function node(history: boolean): Promise<Started> {
  const n = await startWsEmit(["--redis", redis.url, ...(history ? ["--history", "1000"] : [])]);
  for (let i = 0; i < 200 && (await fetch(`${n.url}/readyz`)).status !== 200; i++) await Bun.sleep(50);
  await n.waitForLine(/subscribed to ws-emit|subscribed to .*ws-emit/, 20_000);
  return n;
}

/** `n` clients on `url` in every bench room; resolves `all` once each got `expect` events. */
async function listeners(wsUrl: string, n: number, expect: number) {
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`${wsUrl}/ws?${ROOMS.map((r) => `room=${r}`).join("&")}`);
    let joined = 0;
    await new Promise<void>((r) =>
      ws.addEventListener("message", (e) => {
        const t = e.data as string;
        if (t.startsWith('{"type":"joined"') && ++joined === ROOMS.length) r();
        else if (t.startsWith('{"type":"event"') && ++received === expect * n) done();
      }),
    );
    sockets.push(ws);
  }
  return { all, close: () => sockets.forEach((s) => s.close()), count: () => received };
}

const bounded = (p: Promise<void>, what: () => string) => Promise.race([p, Bun.sleep(60_000).then(() => Promise.reject(new Error(what())))]);
const batch = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ event: "tick", room: ROOMS[i % ROOMS.length], data: { i, tag, pad: "x".repeat(64) } }));

async function fanout(history: boolean) {
  const a = await node(history);
  const b = await node(history);
  try {
    const l = await listeners(b.wsUrl, LISTENERS, EMITS);
    const t = performance.now();
    for (let sent = 0; sent < EMITS; sent += BATCH) {
      const r = await emit(a.url, batch(Math.min(BATCH, EMITS - sent), "http"));
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    }
    await bounded(l.all, () => `fan-out: ${l.count()} of ${EMITS * LISTENERS}`);
    const ms = performance.now() - t;
    l.close();
    return EMITS / (ms / 1000);
  } finally {
    await Promise.all([a.stop("SIGTERM"), b.stop("SIGTERM")]);
  }
}

async function ingest(history: boolean) {
  const a = await node(history);
  const b = await node(history);
  try {
    const la = await listeners(a.wsUrl, LISTENERS / 2, EMITS);
    const lb = await listeners(b.wsUrl, LISTENERS / 2, EMITS);
    const t = performance.now();
    for (let sent = 0; sent < EMITS; sent += BATCH) {
      await redisCli(redis.port, "PUBLISH", "ws-emit", JSON.stringify(batch(Math.min(BATCH, EMITS - sent), "redis")));
    }
    await bounded(Promise.all([la.all, lb.all]).then(() => {}), () => `ingest (history ${history ? "on" : "off"}): ${la.count()} + ${lb.count()} of ${EMITS * LISTENERS}; ${[...a.lines, ...b.lines].filter((l) => !l.startsWith("[info]")).slice(0, 5).join(" | ")}`);
    const ms = performance.now() - t;
    la.close();
    lb.close();
    return EMITS / (ms / 1000);
  } finally {
    await Promise.all([a.stop("SIGTERM"), b.stop("SIGTERM")]);
  }
}

async function commandCalls(): Promise<Map<string, number>> {
  const out = await redisCli(redis.port, "INFO", "commandstats");
  const m = new Map<string, number>();
  for (const line of out.split("\n")) {
    const x = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (x) m.set(x[1]!, Number(x[2]));
  }
  return m;
}

async function storm() {
  const srv = await node(true);
  try {
    // One room per 20 clients; each client's position is the room's top before the emits it misses.
    const rooms = Array.from({ length: Math.ceil(CLIENTS / 20) }, (_, i) => `storm-${i}`);
    const tops = new Map<string, string>();
    for (const r of rooms) {
      const x = await emit(srv.url, { event: "s", room: r, data: 0 });
      tops.set(r, x.body.ids[r]);
    }
    for (let k = 1; k <= BEHIND; k++) {
      const r = await emit(srv.url, rooms.map((room) => ({ event: "s", room, data: k })));
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    }
    const before = await commandCalls();
    let live = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const t = performance.now();
    const sockets: WebSocket[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const room = rooms[i % rooms.length]!;
      const ws = new WebSocket(`${srv.wsUrl}/ws?room=${room}&since=${tops.get(room)}`);
      let got = 0;
      ws.addEventListener("message", (e) => {
        if ((e.data as string).startsWith('{"type":"event"') && ++got === BEHIND && ++live === CLIENTS) done();
      });
      sockets.push(ws);
    }
    await bounded(all, () => `storm: ${live} of ${CLIENTS} caught up`);
    const ms = performance.now() - t;
    const after = await commandCalls();
    const delta = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([k, d]) => d > 0 && k !== "info");
    sockets.forEach((s) => s.close());
    return { ms, delta };
  } finally {
    await srv.stop("SIGTERM");
  }
}

const cpu = () => {
  const [l] = require("node:fs").readFileSync("/proc/loadavg", "utf8").split(" ");
  return l;
};
console.log(`history bench: ${EMITS} emits, ${LISTENERS} listeners in ${ROOMS.length} rooms, storm ${CLIENTS} clients x ${BEHIND} behind; load average ${cpu()} (shared 2-core machine)`);
const rates: Record<string, number[]> = { "fanout off": [], "fanout on": [], "ingest off": [], "ingest on": [] };
// Alternate off/on so other jobs on the machine hit both alike.
const ONLY = process.env.ONLY;
for (let rep = 0; rep < 2; rep++)
  for (const h of [false, true]) {
    if (ONLY !== "ingest") rates[`fanout ${h ? "on" : "off"}`]!.push(await fanout(h));
    rates[`ingest ${h ? "on" : "off"}`]!.push(await ingest(h));
  }
const best = (k: string) => Math.max(...rates[k]!);
for (const k of Object.keys(rates)) console.log(`${k}: ${rates[k]!.map((r) => Math.round(r).toLocaleString("en")).join(", ")} emits/s (best ${Math.round(best(k)).toLocaleString("en")})`);
console.log(`ratio on/off (best of 2): fan-out ${(best("fanout on") / best("fanout off")).toFixed(2)}, Redis ingest ${(best("ingest on") / best("ingest off")).toFixed(2)}`);
const s = await storm();
console.log(`resume storm: ${CLIENTS} clients, ${BEHIND} events behind each, all caught up in ${s.ms.toFixed(0)} ms; load average ${cpu()}`);
console.log(`redis commands during the storm: ${s.delta.map(([k, d]) => `${k} ${d} (${(d / CLIENTS).toFixed(2)}/resume)`).join(", ")}`);
