/**
 * Server CPU per HTTP emit, for paired comparisons of start modes (issue 12: the default run
 * without Redis against --redis none). Starts ws-emit from source once per mode, sends N emits
 * (C at a time) to a room with no subscribers, and reads the server's user+system CPU from
 * /proc before and after.
 *   bun scripts/cpu-per-emit.ts [N=20000] [C=16] [rounds=3] -- "<args A>" "<args B>" …
 */
import { resolve } from "node:path";

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const [n = 20000, c = 16, rounds = 3] = (sep < 0 ? argv : argv.slice(0, sep)).map(Number);
const modes = sep < 0 ? ["", "--redis none"] : argv.slice(sep + 1);
const ROOT = resolve(import.meta.dir, "..");
const TICK_MS = 10; // USER_HZ 100

function cpuMs(pid: number): number {
  const f = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8") as string;
  const p = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(p[11]) + Number(p[12])) * TICK_MS;
}

async function run(args: string): Promise<{ usPerEmit: number; rps: number }> {
  const proc = Bun.spawn([process.execPath, `${ROOT}/src/cli.ts`, "--address", "127.0.0.1:0", "--log-level", "warn", ...args.split(" ").filter(Boolean)], {
    env: { PATH: process.env.PATH!, NO_COLOR: "1", WS_EMIT_LOG_FORMAT: "pretty" },
    stdout: "pipe",
    stderr: "pipe",
  });
  // --log-level warn hides the listening line: find the port from /proc instead of the log.
  let url = "";
  for (let i = 0; i < 200 && !url; i++) {
    await Bun.sleep(50);
    const out = Bun.spawnSync(["ss", "-ltnpH"]).stdout.toString();
    const m = out.split("\n").find((l) => l.includes(`pid=${proc.pid},`));
    if (m) url = `http://${/\s(127\.0\.0\.1:\d+)\s/.exec(m)![1]}`;
  }
  if (!url) throw new Error(`no listener for ${args}`);
  const body = JSON.stringify({ event: "e", room: "nobody", data: { x: 1 } });
  const post = () => fetch(`${url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body }).then((r) => r.arrayBuffer());
  for (let i = 0; i < 500; i++) await post(); // warm up
  const before = cpuMs(proc.pid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: c }, async () => {
    while (next++ < n) await post();
  }));
  const secs = (performance.now() - t0) / 1000;
  const used = cpuMs(proc.pid) - before;
  proc.kill();
  await proc.exited;
  return { usPerEmit: (used * 1000) / n, rps: n / secs };
}

const results: Record<string, Array<{ usPerEmit: number; rps: number }>> = {};
for (let r = 0; r < rounds; r++) for (const m of modes) (results[m] ??= []).push(await run(m));
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const m of modes) {
  const xs = results[m]!;
  console.log(`${JSON.stringify(m || "(default)")}: server CPU ${median(xs.map((x) => x.usPerEmit)).toFixed(1)} µs/emit, ${Math.round(median(xs.map((x) => x.rps)))} emits/s (median of ${rounds}; per run: ${xs.map((x) => x.usPerEmit.toFixed(1)).join(", ")} µs)`);
}
