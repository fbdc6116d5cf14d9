/**
 * HTTP ingest: POST /emit to an empty room with wrk, ws-emit against bun-raw in the same run.
 *   bun bench/profile/http-ingest.ts [seconds=8] [rounds=3] [connections=50]
 * Each round starts both servers fresh, warms each up for 2 s, then measures; reports the
 * median requests/s and server CPU µs/request. Needs wrk (apt-get install -y wrk).
 * SERVERS=raw,ws-emit,bin:/tmp/old-ws-emit compares other builds (A/B); the first two named
 * give the ratio.
 */
import { resolve } from "node:path";
import { cpuTicks, fmt, median, startServer } from "./common.ts";

const SECS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONNS = Number(process.argv[4] ?? 50);
const LUA = resolve(import.meta.dir, "emit.lua");

async function wrk(url: string, secs: number): Promise<{ rps: number; non2xx: number }> {
  const p = Bun.spawn(["wrk", "-t1", `-c${CONNS}`, `-d${secs}s`, "-s", LUA, `${url}/emit`], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), (secs + 20) * 1000);
  const out = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(timer);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  if (!Number.isFinite(rps)) throw new Error(`wrk failed:\n${out}`);
  return { rps, non2xx };
}

const SERVERS = (process.env.SERVERS ?? "raw,ws-emit").split(",");
const rows: Record<string, number[]> = Object.fromEntries(SERVERS.map((s) => [s, []]));
const cpu: Record<string, number[]> = Object.fromEntries(SERVERS.map((s) => [s, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const which of SERVERS) {
    const srv = await startServer(which);
    try {
      await wrk(srv.url, 2);
      const t0 = cpuTicks(srv.pid);
      const m = await wrk(srv.url, SECS);
      const ticks = cpuTicks(srv.pid) - t0;
      const usPerReq = (ticks * 10_000) / (m.rps * SECS);
      if (m.non2xx) throw new Error(`${which}: ${m.non2xx} non-2xx responses`);
      rows[which]!.push(m.rps);
      cpu[which]!.push(usPerReq);
      console.log(`round ${r + 1} ${which.padEnd(12)} ${fmt(m.rps)} req/s, server CPU ${usPerReq.toFixed(1)} µs/req`);
    } finally {
      await srv.stop();
    }
  }
}
const [A, B] = [SERVERS[1]!, SERVERS[0]!];
const best = (xs: number[]) => Math.max(...xs);
const least = (xs: number[]) => Math.min(...xs);
for (const s of SERVERS) console.log(`${s.padEnd(12)} median ${fmt(median(rows[s]!))} req/s, best ${fmt(best(rows[s]!))} req/s; server CPU median ${median(cpu[s]!).toFixed(1)} µs/req, least ${least(cpu[s]!).toFixed(1)} µs/req`);
// The box is shared: medians swing with other load; the least CPU per request is the steadier figure.
console.log(
  `http ingest (wrk -c${CONNS}, ${SECS}s, ${ROUNDS} rounds): ${A}/${B} req/s ratio median ${(median(rows[A]!) / median(rows[B]!)).toFixed(3)}, best ${(best(rows[A]!) / best(rows[B]!)).toFixed(3)} (target ≥ 0.8); ` +
    `CPU/req ratio ${B}/${A} ${(least(cpu[B]!) / least(cpu[A]!)).toFixed(3)}`,
);
