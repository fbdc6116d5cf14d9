/**
 * Redis ingest against the HTTP path, on one ws-emit with --redis (a redis-server it starts):
 *   bun bench/profile/redis-ingest.ts [emits=20000] [subscribers=10] [runs=3]
 * HTTP: `emits` POST /emit with 50 in flight (keep-alive fetch). Redis: `emits` PUBLISH
 * ws-emit '{json}' pipelined in chunks of 500. Either way every emit goes to one room with
 * `subscribers` native WebSockets (a separate process); the rate is emits/s until the last
 * delivery arrived, and every delivery is counted (zero loss expected). Runs alternate.
 * SERVER=bin:/path/ws-emit measures another build.
 */
import Redis from "ioredis";
import { startRedis } from "../../test/helpers/redis.ts";
import { cpuTicks, fmt, median, spawnClients, startServer } from "./common.ts";

const EMITS = Number(process.argv[2] ?? 20_000);
const SUBS = Number(process.argv[3] ?? 10);
const RUNS = Number(process.argv[4] ?? 3);
const body = (i: number) => JSON.stringify({ event: "tick", room: "ingest", data: { i, pad: "x".repeat(64) } });

await using redis = await startRedis();
const srv = await startServer(process.env.SERVER ?? "ws-emit", ["--redis", redis.url]);
const pub = new Redis(redis.url);
pub.on("error", () => {});
const clients = spawnClients([srv.url.replace(/^http/, "ws"), String(SUBS), "native", "ingest"]);
try {
  await clients.next(/^open /, 60_000);
  for (let i = 0; i < 100 && (await fetch(`${srv.url}/readyz`)).status !== 200; i++) await Bun.sleep(50);

  async function viaHttp() {
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < EMITS) {
          const i = next++;
          const r = await fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: body(i) });
          if (r.status !== 200) throw new Error(`emit ${r.status}`);
          await r.arrayBuffer();
        }
      }),
    );
  }
  async function viaRedis() {
    for (let i = 0; i < EMITS; i += 500) {
      const p = pub.pipeline();
      for (let j = i; j < Math.min(EMITS, i + 500); j++) p.publish("ws-emit", body(j));
      await p.exec();
    }
  }
  async function measure(send: () => Promise<void>) {
    clients.send("reset");
    await clients.next(/^reset done$/);
    clients.send(`wait ${EMITS * SUBS}`);
    const c0 = cpuTicks(srv.pid);
    const t = performance.now();
    await send();
    const got = await clients.next(new RegExp(`^reached ${EMITS * SUBS}$`), 60_000).catch(async () => {
      clients.send("report");
      return await clients.next(/^report /);
    });
    if (!got.startsWith("reached")) throw new Error(`lost deliveries: ${got} of ${EMITS * SUBS}`);
    return { rate: EMITS / ((performance.now() - t) / 1000), us: ((cpuTicks(srv.pid) - c0) * 10_000) / EMITS };
  }
  await measure(viaHttp); // warm up
  await measure(viaRedis);
  const h: Array<{ rate: number; us: number }> = [];
  const r: Array<{ rate: number; us: number }> = [];
  for (let k = 0; k < RUNS; k++) {
    if (k % 2 === 0) {
      h.push(await measure(viaHttp));
      r.push(await measure(viaRedis));
    } else {
      r.push(await measure(viaRedis));
      h.push(await measure(viaHttp));
    }
    const [a, b] = [h.at(-1)!, r.at(-1)!];
    console.log(`run ${k + 1}: http ${fmt(a.rate)} emits/s (${a.us.toFixed(1)} µs CPU/emit), redis ${fmt(b.rate)} emits/s (${b.us.toFixed(1)} µs CPU/emit); all ${fmt(EMITS * SUBS)} deliveries each`);
  }
  const paired = median(r.map((x, i) => x.rate / h[i]!.rate));
  console.log(
    `redis ingest: ${fmt(median(r.map((x) => x.rate)))} emits/s (${median(r.map((x) => x.us)).toFixed(1)} µs CPU/emit) vs http ${fmt(median(h.map((x) => x.rate)))} emits/s (${median(h.map((x) => x.us)).toFixed(1)} µs CPU/emit) on the same --redis node; ratio ${paired.toFixed(3)} (paired median; target ≥ 0.8); zero loss in ${RUNS * 2} runs`,
  );
} finally {
  pub.disconnect();
  await clients.stop();
  await srv.stop();
}
