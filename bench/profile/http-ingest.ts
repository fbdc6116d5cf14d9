/**
 * HTTP ingest: POST /emit to an empty room with wrk, ws-emit against bun-raw.
 *   bun bench/profile/http-ingest.ts [seconds-per-run=2] [runs=10] [connections=50]
 * Both servers start once and are warmed up; then short wrk runs alternate between them
 * (A B B A A B …), so background load on this shared box hits both alike. Reports the median
 * req/s and server CPU µs/request of each, and the median of the paired per-run ratios.
 * SERVERS=raw,ws-emit,bin:/tmp/old-ws-emit compares other builds; the first is the baseline.
 * Needs wrk (apt-get install -y wrk).
 */
import { resolve } from "node:path";
import { cpuTicks, fmt, median, startServer, type Srv } from "./common.ts";

const SECS = Number(process.argv[2] ?? 2);
const RUNS = Number(process.argv[3] ?? 10);
const CONNS = Number(process.argv[4] ?? 50);
const LUA = resolve(import.meta.dir, "emit.lua");
const SERVERS = (process.env.SERVERS ?? "raw,ws-emit").split(",");

async function wrk(url: string, secs: number): Promise<number> {
  const p = Bun.spawn(["wrk", "-t1", `-c${CONNS}`, `-d${secs}s`, "-s", LUA, `${url}/emit`], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), (secs + 20) * 1000);
  const out = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(timer);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) throw new Error(`wrk failed:\n${out}`);
  if (/Non-2xx or 3xx responses: (\d+)/.test(out)) throw new Error(`non-2xx responses:\n${out}`);
  return rps;
}

async function run(s: Srv) {
  const t0 = cpuTicks(s.pid);
  const rps = await wrk(s.url, SECS);
  return { rps, us: ((cpuTicks(s.pid) - t0) * 10_000) / (rps * SECS) };
}

const servers: Srv[] = [];
try {
  for (const w of SERVERS) servers.push(await startServer(w));
  for (const s of servers) await wrk(s.url, 2); // warm up (JIT)
  const rps = servers.map(() => [] as number[]);
  const us = servers.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    const order = r % 2 === 0 ? servers.map((_, i) => i) : servers.map((_, i) => i).reverse();
    for (const i of order) {
      const m = await run(servers[i]!);
      rps[i]!.push(m.rps);
      us[i]!.push(m.us);
    }
  }
  servers.forEach((s, i) => console.log(`${s.name.padEnd(12)} median ${fmt(median(rps[i]!))} req/s, server CPU median ${median(us[i]!).toFixed(1)} µs/req (runs: ${rps[i]!.map((x) => fmt(x)).join(" ")})`));
  for (let i = 1; i < servers.length; i++) {
    const pairs = rps[i]!.map((x, k) => x / rps[0]![k]!);
    const pr = median(pairs);
    console.log(`paired req/s ratios ${servers[i]!.name}/${servers[0]!.name}: ${pairs.map((x) => x.toFixed(3)).join(" ")} (spread ${Math.min(...pairs).toFixed(3)}–${Math.max(...pairs).toFixed(3)})`);
    const pc = median(us[i]!.map((x, k) => us[0]![k]! / x));
    console.log(`http ingest ${servers[i]!.name}/${servers[0]!.name} (wrk -c${CONNS}, ${RUNS}×${SECS}s alternating): req/s ratio ${pr.toFixed(3)} (paired median; target ≥ 0.8), CPU-per-request ratio ${pc.toFixed(3)}`);
  }
} finally {
  for (const s of servers) await s.stop();
}
