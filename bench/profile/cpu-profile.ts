/**
 * CPU profile of ws-emit (from source) under a wrk POST /emit load:
 *   bun bench/profile/cpu-profile.ts [seconds=8] [outdir=/tmp/ws-emit-prof]
 * Runs `bun --cpu-prof src/cli.ts`, loads it with wrk, stops it with SIGTERM (the drain exits
 * cleanly so the profile is written) and prints the top self-time functions.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BUN, ROOT } from "./common.ts";

const SECS = Number(process.argv[2] ?? 8);
const DIR = process.argv[3] ?? "/tmp/ws-emit-prof";
const proc = Bun.spawn([BUN, "--cpu-prof", "--cpu-prof-dir", DIR, resolve(ROOT, "src/cli.ts"), "--address", "127.0.0.1:0", "--drain", "100ms"], {
  stdout: "pipe", stderr: "inherit", env: { PATH: process.env.PATH!, HOME: "/tmp", NO_COLOR: "1" },
});
let url = "";
(async () => {
  for await (const c of proc.stdout as ReadableStream<Uint8Array>) url ||= /listening on (http:\/\/[^\s"]+)/.exec(new TextDecoder().decode(c))?.[1] ?? "";
})();
for (let i = 0; !url && i < 300; i++) await Bun.sleep(50);
const w = Bun.spawn(["wrk", "-t1", "-c50", `-d${SECS}s`, "-s", resolve(import.meta.dir, "emit.lua"), `${url}/emit`], { stdout: "pipe" });
console.log((await new Response(w.stdout).text()).split("\n").filter((l) => /Requests\/sec|Latency/.test(l)).join("\n"));
process.kill(proc.pid, "SIGTERM");
await Promise.race([proc.exited, Bun.sleep(10_000)]);
if (proc.exitCode === null) process.kill(proc.pid, "SIGKILL");
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
