/**
 * Soak with churn: ws-emit (dist/ws-emit, or the source with SRC=1) with a real redis-server,
 * clients of three transports connecting, joining, receiving and leaving in waves for MINUTES,
 * emits flowing throughout. Every 10 s it samples the server's RSS and open file descriptors;
 * at the end, once every client has left, it checks the FDs are back near the start and reports
 * the RSS slope over the second half (a leak grows linearly; warm-up does not).
 *   bun bench/soak.ts [minutes=10] [clients-per-wave=300]
 * Bounded: waves of at most `clients-per-wave` sockets, the whole run at most minutes + 1.
 */
import { readdirSync, readFileSync } from "node:fs";
import { startRedis } from "../test/helpers/redis.ts";
import { startServer } from "./profile/common.ts";

const MINUTES = Number(process.argv[2] ?? 10);
const PER_WAVE = Number(process.argv[3] ?? 300);
const ROOMS = 50;

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

await using redis = await startRedis();
const srv = await startServer("ws-emit", ["--redis", redis.url]);
const samples: Array<{ t: number; rssKiB: number; fds: number; clients: number }> = [];
const t0 = Date.now();
let open = 0;
let received = 0;
let waves = 0;
const sample = () => samples.push({ t: (Date.now() - t0) / 1000, rssKiB: rssKiB(srv.pid), fds: fds(srv.pid), clients: open });
// The Redis connections and listeners settle first: the baseline is taken after them.
await Bun.sleep(2000);
sample();
const baseFds = samples[0]!.fds;
const sampler = setInterval(sample, 10_000);

/** One wave: PER_WAVE clients (native WS, SSE, raw Engine.IO polling-less WebSocket) join random rooms, get emits, leave. */
async function wave(): Promise<void> {
  const closers: Array<() => void> = [];
  const ready: Promise<void>[] = [];
  for (let i = 0; i < PER_WAVE; i++) {
    const room = `soak-${(i * 7 + waves) % ROOMS}`;
    if (i % 3 === 2) {
      const ctl = new AbortController();
      ready.push(
        fetch(`${srv.url}/sse?room=${room}`, { signal: ctl.signal }).then((res) => {
          open++;
          const reader = res.body!.getReader();
          (async () => {
            try {
              for (;;) {
                const r = await reader.read();
                if (r.done) break;
                received++;
              }
            } catch {}
          })();
          closers.push(() => {
            ctl.abort();
            open--;
          });
        }),
      );
    } else {
      const ws = new WebSocket(`${srv.url.replace("http", "ws")}/ws?room=${room}`);
      ws.onmessage = () => received++;
      ready.push(
        new Promise<void>((res) => {
          ws.onopen = () => {
            open++;
            res();
          };
          ws.onerror = () => res();
        }),
      );
      closers.push(() => {
        if (ws.readyState === WebSocket.OPEN) open--;
        ws.close();
      });
    }
  }
  await Promise.all(ready);
  for (let e = 0; e < 20; e++) {
    await fetch(`${srv.url}/emit`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ event: "tick", room: `soak-${e % ROOMS}`, data: { e, pad: "x".repeat(200) } }),
    });
  }
  await Bun.sleep(500);
  for (const c of closers) c();
  waves++;
}

const deadline = t0 + MINUTES * 60_000;
while (Date.now() < deadline) await wave();
clearInterval(sampler);
// Every client is gone: give the server a moment to notice the last closes.
await Bun.sleep(3000);
sample();
const end = samples.at(-1)!;
const half = samples.filter((s) => s.t >= (MINUTES * 60) / 2 && s !== end);
const slope = (() => {
  const n = half.length;
  if (n < 2) return NaN;
  const mx = half.reduce((a, s) => a + s.t, 0) / n;
  const my = half.reduce((a, s) => a + s.rssKiB, 0) / n;
  const num = half.reduce((a, s) => a + (s.t - mx) * (s.rssKiB - my), 0);
  const den = half.reduce((a, s) => a + (s.t - mx) ** 2, 0);
  return (num / den) * 60; // KiB per minute
})();
const peak = Math.max(...samples.map((s) => s.rssKiB));
const out = {
  minutes: MINUTES,
  waves,
  connections: waves * PER_WAVE,
  events_received: received,
  rss_start_mib: +(samples[0]!.rssKiB / 1024).toFixed(1),
  rss_peak_mib: +(peak / 1024).toFixed(1),
  rss_end_mib: +(end.rssKiB / 1024).toFixed(1),
  rss_slope_second_half_kib_per_min: +slope.toFixed(1),
  fds_start: baseFds,
  fds_end_after_clients_left: end.fds,
};
console.log(JSON.stringify(out));
console.log(
  `soak ${MINUTES} min: ${waves} waves, ${out.connections} connections (2/3 WebSocket, 1/3 SSE), ${received} events received; ` +
    `RSS ${out.rss_start_mib} → peak ${out.rss_peak_mib} → end ${out.rss_end_mib} MiB, slope over the second half ${out.rss_slope_second_half_kib_per_min} KiB/min; ` +
    `FDs ${baseFds} at start, ${end.fds} after every client left`,
);
await srv.stop();
process.exit(end.fds <= baseFds + 5 ? 0 : 1);
