/**
 * HTTP ingest: POST /emit to an empty room with wrk, ws-emit against bun-raw in the same run.
 *   bun bench/profile/http-ingest.ts [seconds=8] [rounds=3] [connections=50]
 * Each round starts both servers fresh, warms each up for 2 s, then measures; reports the
 * median requests/s. Needs wrk (apt-get install -y wrk). CPU=1: also print server CPU µs/request.
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

const rows: Record<string, number[]> = { "ws-emit": [], raw: [] };
const cpu: Record<string, number[]> = { "ws-emit": [], raw: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const which of ["raw", "ws-emit"] as const) {
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
      console.log(`round ${r + 1} ${which.padEnd(7)} ${fmt(m.rps)} req/s, server CPU ${usPerReq.toFixed(1)} µs/req`);
    } finally {
      await srv.stop();
    }
  }
}
const a = median(rows["ws-emit"]!);
const b = median(rows.raw!);
console.log(
  `http ingest (wrk -c${CONNS}, ${SECS}s, median of ${ROUNDS}): ws-emit ${fmt(a)} req/s, bun-raw ${fmt(b)} req/s, ratio ${(a / b).toFixed(3)} (target ≥ 0.8); ` +
    `server CPU/req ws-emit ${median(cpu["ws-emit"]!).toFixed(1)} µs, bun-raw ${median(cpu.raw!).toFixed(1)} µs`,
);
