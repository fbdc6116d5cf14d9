/**
 * Fan-out: one room with N subscribers, emits POSTed to /emit; ws-emit against bun-raw.
 *   bun bench/profile/fanout.ts [subscribers=1000,5000] [runs=10] [native|sio]
 * Both servers run at once, each with its own client process holding N WebSockets in room
 * "fan" (sio: ws-emit's clients speak Socket.IO v5 over WebSocket; bun-raw's stay native).
 * Measurements alternate between the servers (A B B A …) so background load hits both alike:
 *   throughput: a run is K bursts of B emits, each burst waited for until all B×N deliveries
 *     arrived; deliveries/s and server CPU µs per delivery; paired per-run ratios.
 *   latency: emits paced at 5k deliveries/s, alternating servers, in LAT_ROUNDS=5 rounds of 10;
 *     every 10th socket stamps publish→arrival (the client process's own queueing counts
 *     too); p50/p99 per round, median over rounds.
 * SERVERS=raw,script:/path/variant.ts (or bin:/path/ws-emit) compares other servers.
 * Loopback only; every wait times out.
 */
import { cpuTicks, fmt, median, spawnClients, startServer, type Srv } from "./common.ts";

const COUNTS = (process.argv[2] ?? "1000,5000").split(",").map(Number);
const RUNS = Number(process.argv[3] ?? 10);
const MODE = (process.argv[4] ?? "native") as "native" | "sio" | "sse";
const PAD = "x".repeat(64);
const now = () => performance.timeOrigin + performance.now();

async function emit(url: string) {
  const res = await fetch(`${url}/emit`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ event: "tick", room: "fan", data: { t: now(), pad: PAD } }),
  });
  if (res.status !== 200) throw new Error(`emit: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

type Clients = ReturnType<typeof spawnClients>;
interface Side {
  srv: Srv;
  clients: Clients;
  received: number;
}

async function reset(s: Side) {
  s.clients.send("reset");
  await s.clients.next(/^reset done$/);
  s.received = 0;
}

/** Emit `b` times, then wait until every subscriber got them. */
async function burst(s: Side, b: number, n: number) {
  s.received += b * n;
  s.clients.send(`wait ${s.received}`);
  for (let j = 0; j < b; j++) await emit(s.srv.url);
  await s.clients.next(new RegExp(`^reached ${s.received}$`), 30_000).catch(async (e) => {
    s.clients.send("report");
    throw new Error(`${s.srv.name}: ${e.message}; ${await s.clients.next(/^report /)}`);
  });
}

const target = MODE === "sio" ? 0.8 : 0.9;
for (const n of COUNTS) {
  const sides: Side[] = [];
  try {
    for (const which of (process.env.SERVERS ?? "raw,ws-emit").split(",").slice(0, 2)) {
      const srv = await startServer(which);
      const isRaw = which === "raw" || which.startsWith("script:");
      const clients = spawnClients([srv.url.replace(/^http/, "ws"), String(n), isRaw ? "native" : MODE, "fan"]);
      sides.push({ srv, clients, received: 0 });
      await clients.next(/^open /, 120_000);
    }
    const B = Math.max(1, Math.round(20_000 / n));
    const K = Math.max(3, Math.round(100_000 / (B * n)));
    for (const s of sides) {
      await reset(s);
      for (let i = 0; i < 3; i++) await burst(s, B, n); // warm up
    }
    const dps = sides.map(() => [] as number[]);
    const cpu = sides.map(() => [] as number[]);
    for (let r = 0; r < RUNS; r++) {
      for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const s = sides[i]!;
        await reset(s);
        const c0 = cpuTicks(s.srv.pid);
        const t0 = performance.now();
        for (let k = 0; k < K; k++) await burst(s, B, n);
        const secs = (performance.now() - t0) / 1000;
        dps[i]!.push((K * B * n) / secs);
        cpu[i]!.push(((cpuTicks(s.srv.pid) - c0) * 10_000) / (K * B * n));
      }
    }
    // Latency: 5k deliveries/s per server, the two servers' emits interleaved; LAT_ROUNDS
    // rounds of M emits each, p99 per round (one slow emit dominates a p99: take the median).
    const LAT_ROUNDS = Number(process.env.LAT_ROUNDS ?? 5);
    const M = 10;
    const every = n / 5;
    const lat: number[][][] = sides.map(() => []);
    for (let r = 0; r < LAT_ROUNDS; r++) {
      for (const s of sides) await reset(s);
      const start = performance.now();
      for (let i = 0; i < M; i++) {
        for (const [k, s] of sides.entries()) {
          const due = start + i * every + (k * every) / 2;
          const d = due - performance.now();
          if (d > 0) await Bun.sleep(d);
          await emit(s.srv.url);
        }
      }
      for (const [k, s] of sides.entries()) {
        s.clients.send(`wait ${M * n}`);
        await s.clients.next(new RegExp(`^reached ${M * n}$`), 30_000);
        s.clients.send("report");
        lat[k]!.push((await s.clients.next(/^report /)).split(" ").slice(2).map(Number));
      }
    }
    const p = (k: number, q: number) => median(lat[k]!.map((x) => x[q]!));
    sides.forEach((s, i) =>
      console.log(
        `n=${n} ${s.srv.name.padEnd(7)} median ${fmt(median(dps[i]!))} deliveries/s, server ${median(cpu[i]!).toFixed(3)} µs CPU/delivery; latency p50 ${p(i, 0).toFixed(2)} ms p99 ${p(i, 1).toFixed(2)} ms (per round: ${lat[i]!.map((x) => x[1]!.toFixed(0)).join(" ")})`,
      ),
    );
    const pairs = dps[1]!.map((x, k) => x / dps[0]![k]!);
    const cpuPairs = cpu[1]!.map((x, k) => x / cpu[0]![k]!);
    const pd = median(pairs);
    const pc = median(cpu[1]!.map((x, k) => cpu[0]![k]! / x));
    const span = (xs: number[]) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;
    console.log(`paired ratios, ${sides[1]!.srv.name}/${sides[0]!.srv.name}: deliveries/s ${pairs.map((x) => x.toFixed(3)).join(" ")} (spread ${span(pairs)}); CPU per delivery ${cpuPairs.map((x) => x.toFixed(3)).join(" ")} (median ${median(cpuPairs).toFixed(3)}, spread ${span(cpuPairs)})`);
    console.log(
      `fan-out ${MODE} n=${n} (${RUNS} alternating runs of ${K}×${B} emits): deliveries/s ratio ${pd.toFixed(3)} (paired median; target ≥ ${target}), CPU-per-delivery ratio ${pc.toFixed(3)}; ` +
        `p99 ratio ${(p(1, 1) / p(0, 1)).toFixed(3)} (median of ${LAT_ROUNDS} rounds; paired ${median(lat[1]!.map((x, r) => x[1]! / lat[0]![r]![1]!)).toFixed(3)}; target ≤ 1.25)`,
    );
  } finally {
    for (const s of sides) {
      await s.clients.stop();
      await s.srv.stop();
    }
  }
}
