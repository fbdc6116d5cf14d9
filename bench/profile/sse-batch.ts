/**
 * SSE fan-out of batch emits: N SSE streams in one room, POST /emit batches of B emits; server
 * CPU µs per delivery and deliveries/s. A/B two builds (SERVERS=ws-emit,bin:/path), alternating.
 *   bun bench/profile/sse-batch.ts [streams=500] [batch=50] [batches=40] [runs=4]
 */
import { cpuTicks, fmt, median, spawnClients, startServer, type Srv } from "./common.ts";

const N = Number(process.argv[2] ?? 500);
const B = Number(process.argv[3] ?? 50);
const K = Number(process.argv[4] ?? 40);
const RUNS = Number(process.argv[5] ?? 4);
const names = (process.env.SERVERS ?? "ws-emit").split(",");
const batch = JSON.stringify(Array.from({ length: B }, (_, i) => ({ event: "tick", room: "fan", data: { i, pad: "x".repeat(64) } })));

const sides: Array<{ srv: Srv; clients: ReturnType<typeof spawnClients> }> = [];
try {
  for (const w of names) {
    const srv = await startServer(w);
    const clients = spawnClients([srv.url.replace(/^http/, "ws"), String(N), "sse", "fan"]);
    sides.push({ srv, clients });
    await clients.next(/^open /, 60_000);
  }
  const res = sides.map(() => ({ dps: [] as number[], us: [] as number[] }));
  for (let r = 0; r <= RUNS; r++) {
    for (const i of r % 2 ? sides.map((_, k) => k).reverse() : sides.map((_, k) => k)) {
      const { srv, clients } = sides[i]!;
      clients.send("reset");
      await clients.next(/^reset done$/);
      const c0 = cpuTicks(srv.pid);
      const t0 = performance.now();
      for (let k = 1; k <= K; k++) {
        clients.send(`wait ${k * B * N}`);
        const res = await fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: batch });
        if (res.status !== 200) throw new Error(`emit ${res.status}`);
        await res.arrayBuffer();
        await clients.next(new RegExp(`^reached ${k * B * N}$`), 30_000);
      }
      if (r === 0) continue; // warm-up round
      res[i]!.dps.push((K * B * N) / ((performance.now() - t0) / 1000));
      res[i]!.us.push(((cpuTicks(srv.pid) - c0) * 10_000) / (K * B * N));
    }
  }
  sides.forEach((s, i) => console.log(`${s.srv.name.padEnd(12)} SSE batch fan-out (${N} streams, batches of ${B}): ${fmt(median(res[i]!.dps))} deliveries/s, ${median(res[i]!.us).toFixed(2)} µs server CPU/delivery`));
} finally {
  for (const s of sides) {
    await s.clients.stop();
    await s.srv.stop();
  }
}
