/**
 * CPU profile of ws-emit (from source) under load:
 *   bun bench/profile/cpu-profile.ts [seconds=8] [outdir=/tmp/ws-emit-prof] [http|redis|http-redis]
 * http: wrk POST /emit to an empty room. redis: ws-emit with --redis (a redis-server started
 * here) while this process PUBLISHes JSON emits on "ws-emit", pipelined, for `seconds`.
 * http-redis: wrk POST /emit against ws-emit with --redis (the emit also goes to Redis).
 * Runs `bun --cpu-prof src/cli.ts`, stops it with SIGTERM (the drain exits cleanly so the
 * profile is written) and prints the top self-time functions.
 */
import Redis from "ioredis";
import { startRedis } from "../../test/helpers/redis.ts";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BUN, ROOT } from "./common.ts";

const SECS = Number(process.argv[2] ?? 8);
const DIR = process.argv[3] ?? "/tmp/ws-emit-prof";
const MODE = process.argv[4] ?? "http";
const redis = MODE === "redis" || MODE === "http-redis" ? await startRedis() : null;
const proc = Bun.spawn([BUN, "--cpu-prof", "--cpu-prof-dir", DIR, resolve(ROOT, "src/cli.ts"), "--address", "127.0.0.1:0", "--drain", "100ms", "--redis", redis ? redis.url : "none"], {
  stdout: "pipe", stderr: "inherit", env: { PATH: process.env.PATH!, HOME: "/tmp", NO_COLOR: "1" },
});
let url = "";
(async () => {
  for await (const c of proc.stdout as ReadableStream<Uint8Array>) url ||= /listening on (http:\/\/[^\s"]+)/.exec(new TextDecoder().decode(c))?.[1] ?? "";
})();
for (let i = 0; !url && i < 300; i++) await Bun.sleep(50);
if (MODE === "redis") {
  const pub = new Redis(redis!.url);
  const body = JSON.stringify({ event: "tick", room: "ingest", data: { i: 1, pad: "x".repeat(64) } });
  const end = performance.now() + SECS * 1000;
  let n = 0;
  while (performance.now() < end) {
    const p = pub.pipeline();
    for (let j = 0; j < 200; j++) p.publish("ws-emit", body);
    await p.exec();
    n += 200;
  }
  console.log(`published ${n} in ${SECS} s`);
  pub.disconnect();
} else {
  const w = Bun.spawn(["wrk", "-t1", "-c50", `-d${SECS}s`, "-s", resolve(import.meta.dir, "emit.lua"), `${url}/emit`], { stdout: "pipe" });
  console.log((await new Response(w.stdout).text()).split("\n").filter((l) => /Requests\/sec|Latency/.test(l)).join("\n"));
}
process.kill(proc.pid, "SIGTERM");
await Promise.race([proc.exited, Bun.sleep(10_000)]);
if (proc.exitCode === null) process.kill(proc.pid, "SIGKILL");
await redis?.stop();
const file = readdirSync(DIR).filter((f) => f.endsWith(".cpuprofile")).map((f) => resolve(DIR, f)).sort().at(-1)!;
const prof = JSON.parse(readFileSync(file, "utf8"));
const self = new Map<string, number>();
const byId = new Map<number, any>();
for (const n of prof.nodes) byId.set(n.id, n);
const counts = new Map<number, number>();
for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
let total = 0;
for (const [id, c] of counts) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const k = `${cf.functionName || "(anon)"} ${cf.url.replace(/.*\/src\//, "src/")}:${cf.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + c);
  total += c;
}
console.log(`profile ${file}: ${total} samples`);
for (const [k, c] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40))) console.log(`${((c / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
