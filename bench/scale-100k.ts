/**
 * 100,000 concurrent subscribers on one machine whose per-process open-file limit is 20,000:
 * ws-emit as `--workers W` on one redis-server (each worker < 20,000 sockets), the load
 * generator as K processes (bench/scale-client.ts), each with its own loopback source address
 * (127.0.0.2, 127.0.0.3, …). Every subscriber is a native WebSocket in room "bench".
 *
 *   bun bench/scale-100k.ts [--conns 100000] [--procs 6] [--workers 7] [--broadcasts 20] [--sustain 10] [--window 4]
 *
 * Reports: KiB per connection (RSS of every server process, after − before, over the
 * connections), time to connect all, one broadcast to all: time until the last subscriber has
 * it (p50/p99 over --broadcasts, one at a time), sustained deliveries/s (emits published with
 * at most --window not yet delivered to everyone, for --sustain seconds), server CPU per
 * delivery, and lost (expected − received). Bounded: connect ≤ 300 s, each wait ≤ 60 s.
 */
import { parseArgs } from "node:util";
import { cpuSeconds, machineBusySeconds, rssKiB } from "./proc.ts";
import { emit, pct, startClients, startNode, startRedis } from "./scale-common.ts";

const { values: a } = parseArgs({
  options: {
    conns: { type: "string", default: "100000" },
    procs: { type: "string", default: "6" },
    workers: { type: "string", default: "7" },
    broadcasts: { type: "string", default: "20" },
    sustain: { type: "string", default: "10" },
    window: { type: "string", default: "4" },
  },
});
const N = Number(a.conns);
const K = Number(a.procs);
const W = Number(a.workers);
const B = Number(a.broadcasts);
const SUSTAIN = Number(a.sustain);
const WINDOW = Number(a.window);
const per = Math.ceil(N / K);
if (per >= 19_500) throw new Error(`--conns/--procs = ${per} sockets per load-generator process: keep it under 19,500 (open-file limit 20,000)`);
if (N / W >= 18_000) console.warn(`warning: ${Math.round(N / W)} connections per worker on average; a worker past ~19,500 hits the open-file limit`);

const withTimeout = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`timed out: ${what}`)))]);

const redis = await startRedis(["--maxclients", "1000"]);
const node = await startNode(["--redis", redis.url, "--workers", String(W), "--heartbeat", "60s"], { workers: W });
let clients: ReturnType<typeof startClients> | null = null;
try {
  await Bun.sleep(1000);
  const pids = node.pids();
  const rssBefore = rssKiB(pids);
  const t0 = Date.now();
  clients = startClients(
    Array.from({ length: K }, (_, i) => ({
      localAddress: `127.0.0.${2 + i}`,
      conns: Array.from({ length: Math.min(per, N - i * per) }, () => [node.port, "/ws?room=bench", "bench"] as [number, string, string]),
    })),
  );
  const j = await withTimeout(clients.joined, 320_000, "connect phase");
  const connectSeconds = (Date.now() - t0) / 1000;
  await Bun.sleep(2000);
  const rssAfter = rssKiB(node.pids());
  console.error(`joined ${j.joined}/${N} (errors ${j.errors}) in ${connectSeconds.toFixed(1)} s; server RSS ${(rssBefore / 1024).toFixed(0)} → ${(rssAfter / 1024).toFixed(0)} MiB over ${pids.length} processes`);

  // One broadcast at a time: time until the last subscriber has it.
  const lat: number[] = [];
  let seq = 0;
  for (let i = 0; i < B; i++) {
    const s = ++seq;
    const t = Date.now();
    await emit(node.base, { event: "b", room: "bench", data: { s, t } });
    const at = await withTimeout(clients.done(s), 60_000, `broadcast ${s}`);
    lat.push(at - t);
  }
  console.error(`broadcast to all: p50 ${pct(lat, 0.5)} ms, p99 ${pct(lat, 0.99)} ms, max ${Math.max(...lat)} ms`);

  // Sustained: at most WINDOW emits not yet delivered to everyone, for SUSTAIN seconds.
  const cpu0 = cpuSeconds(node.pids());
  const redisCpu0 = cpuSeconds([redis.proc.pid]);
  const lgCpu0 = cpuSeconds(clients.pids);
  const busy0 = machineBusySeconds();
  const s0 = seq;
  const ts = Date.now();
  const inflight: Array<Promise<number>> = [];
  while (Date.now() - ts < SUSTAIN * 1000) {
    while (inflight.length < WINDOW) {
      const s = ++seq;
      await emit(node.base, { event: "b", room: "bench", data: { s, t: Date.now() } });
      inflight.push(withTimeout(clients.done(s), 60_000, `sustained ${s}`));
    }
    await inflight.shift();
  }
  await Promise.all(inflight);
  const secs = (Date.now() - ts) / 1000;
  const sustainedEmits = seq - s0;
  const deliveries = sustainedEmits * j.joined;
  const serverCpu = cpuSeconds(node.pids()) - cpu0;
  const redisCpu = cpuSeconds([redis.proc.pid]) - redisCpu0;
  const lgCpu = cpuSeconds(clients.pids) - lgCpu0;
  const machineCpu = machineBusySeconds() - busy0;
  const rep = await clients.report();
  const expected = seq * j.joined;
  const result = {
    conns: N,
    joined: j.joined,
    connectErrors: j.errors,
    connectSeconds: +connectSeconds.toFixed(1),
    serverProcesses: pids.length,
    workers: W,
    loadgenProcesses: K,
    rssBeforeMiB: +(rssBefore / 1024).toFixed(1),
    rssAfterMiB: +(rssAfter / 1024).toFixed(1),
    kibPerConn: +((rssAfter - rssBefore) / j.joined).toFixed(2),
    broadcastMs: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: Math.max(...lat), n: lat.length },
    sustained: {
      seconds: +secs.toFixed(1),
      emits: sustainedEmits,
      deliveriesPerSec: Math.round(deliveries / secs),
      serverCpuPct: Math.round((serverCpu / secs) * 100),
      redisCpuPct: Math.round((redisCpu / secs) * 100),
      loadgenCpuPct: Math.round((lgCpu / secs) * 100),
      machineCpuPct: Math.round((machineCpu / secs) * 100),
      serverCpuUsPerDelivery: +((serverCpu * 1e6) / deliveries).toFixed(3),
    },
    expected,
    received: rep.received,
    lost: expected - rep.received,
    disconnects: rep.disconnects,
  };
  console.log(JSON.stringify(result));
} finally {
  const dbg = (m: string) => process.env.DEBUG && console.error(`${new Date().toISOString()} ${m}`);
  dbg("stopping clients");
  await clients?.stop();
  dbg("stopping server");
  await node.stop();
  dbg("stopping redis");
  await redis[Symbol.asyncDispose]();
  dbg("done");
  // Pending bound timers (Bun.sleep in the races) would keep the process alive.
  setTimeout(() => process.exit(process.exitCode ?? 0), 10);
}
