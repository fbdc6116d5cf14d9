/**
 * What occupancy, presence and lifecycle webhooks cost: the same two loads against the compiled
 * binary on one real redis-server, with presence + notices + webhooks off and on.
 *
 *   bun bench/presence.ts [--repeat N] [--quick] [--clients C] [--messages M]
 *
 * - joins: C native WebSocket clients, each in its own room of roomspace "pres", each with a JWT
 *   (sub), connected 256 at a time: joins/s. With presence on, every join is a room_occupied and
 *   a member_added webhook event and a presence notice.
 * - emits: then M emits round-robin over those rooms in batches of 100 (POST /emit): deliveries/s.
 * "off" still counts occupancy (always on); it has no presence roomspace, notices or webhooks.
 * Everything on 127.0.0.1, bounded in count and time; only processes started here are stopped.
 */
import { join, resolve } from "node:path";
import { signJwt } from "../src/auth/jwt.ts";
import type { Result, Spec } from "./loadgen.ts";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "dist/ws-emit");
const BUN = process.execPath;
const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const REPEAT = Number(argv[argv.indexOf("--repeat") + 1]) || (argv.includes("--repeat") ? 1 : 2);
const opt = (name: string) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : NaN);
const C = opt("--clients") || (QUICK ? 1000 : 2000);
const M = opt("--messages") || (QUICK ? 40_000 : 150_000);

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

async function lineOf(proc: Bun.Subprocess<"ignore" | "pipe", "pipe", "pipe">, re: RegExp, ms: number): Promise<string> {
  const dec = new TextDecoder();
  let buf = "";
  const reader = (async () => {
    for await (const c of proc.stdout as ReadableStream<Uint8Array>) {
      buf += dec.decode(c, { stream: true });
      const m = buf.split("\n").find((l) => re.test(l));
      if (m) return m;
    }
    return null;
  })();
  const line = await Promise.race([reader, Bun.sleep(ms).then(() => null)]);
  if (!line) throw new Error(`no ${re} within ${ms} ms: ${buf.slice(-500)}`);
  return line;
}

// One redis-server and one webhook receiver for every run.
const redisPort = await freePort();
const redis = Bun.spawn(["redis-server", "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "pipe", stderr: "pipe" });
await lineOf(redis as never, /Ready to accept connections/, 10_000);
let hookEvents = 0;
const receiver = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    hookEvents += ((await req.json()) as { events: unknown[] }).events.length;
    return new Response(null, { status: 204 });
  },
});

const token = await signJwt({ rooms: ["pres::*"], exp: Math.floor(Date.now() / 1000) + 3600, sub: "bench-user" }, "S");
type Mode = "off" | "on";
const rows: Array<{ mode: Mode; rep: number; joinsPerSec: number; deliveriesPerSec: number; lost: number; serverCpuPct: number; otherCpuPct: number; webhookEvents: number }> = [];

async function run(mode: Mode, rep: number) {
  // A fresh Redis database for each run: no counts left over from the previous one.
  await Bun.spawn(["redis-cli", "-p", String(redisPort), "FLUSHALL"]).exited;
  const on = mode === "on" ? ["--presence-roomspace", "pres", "--presence-notices", "on", "--webhook-url", `http://127.0.0.1:${receiver.port}/`, "--webhook-secret", "K"] : [];
  const srv = Bun.spawn([BIN, "--address", "127.0.0.1:0", "--redis", `redis://127.0.0.1:${redisPort}`, "--roomspace-secret", "pres=S", "--log-level", "warn", ...on], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const before = hookEvents;
  try {
    // --log-level warn hides the listening line: ask /readyz until the fan-out is up (bounded).
    const port = await (async () => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const ss = Bun.spawnSync(["ss", "-ltnpH"]).stdout.toString().split("\n").find((l) => l.includes(`pid=${srv.pid},`));
        const p = ss ? Number(/127\.0\.0\.1:(\d+)/.exec(ss)?.[1]) : 0;
        if (p && (await fetch(`http://127.0.0.1:${p}/readyz`).then((r) => r.ok).catch(() => false))) return p;
        if (Date.now() > deadline) throw new Error("server not ready within 15 s");
        await Bun.sleep(100);
      }
    })();
    const base = `http://127.0.0.1:${port}`;
    const spec: Spec = {
      mode: "deliver", protocol: "native", base, subPath: `/ws?room={room}&token=${token}`, rooms: "each", roomPrefix: "pres::",
      subscribers: C, messages: M, maxSeconds: QUICK ? 3 : 8, window: 2000, batch: 100, concurrency: 1,
      publish: { kind: "http-batch", url: `${base}/emit` }, pids: [srv.pid], connectConcurrency: 256, connectSeconds: 60, settleMs: 0,
    };
    const lg = Bun.spawn([BUN, join(ROOT, "bench/loadgen.ts"), JSON.stringify(spec)], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const line = await lineOf(lg as never, /^\{/, 120_000);
    const r = JSON.parse(line) as Result;
    srv.kill("SIGKILL");
    lg.stdin.end();
    await Promise.race([lg.exited, Bun.sleep(35_000)]);
    lg.kill("SIGKILL");
    rows.push({ mode, rep, joinsPerSec: Math.round(r.joined / r.connectSeconds), deliveriesPerSec: Math.round(r.deliveriesPerSec), lost: r.lost, serverCpuPct: r.serverCpuPct, otherCpuPct: r.otherCpuPct, webhookEvents: hookEvents - before });
    console.log(JSON.stringify(rows.at(-1)));
  } finally {
    srv.kill("SIGKILL");
    await srv.exited;
  }
}

try {
  for (let rep = 1; rep <= REPEAT; rep++) for (const mode of ["off", "on"] as const) await run(mode, rep);
} finally {
  receiver.stop(true);
  redis.kill("SIGKILL");
  await redis.exited;
}
const best = (mode: Mode, k: "joinsPerSec" | "deliveriesPerSec") => Math.max(...rows.filter((r) => r.mode === mode).map((r) => r[k]));
console.log(`\n| load (${C} clients, ${M} emits) | off | on | on/off |\n|---|--:|--:|--:|`);
for (const k of ["joinsPerSec", "deliveriesPerSec"] as const) console.log(`| ${k} (best of ${REPEAT}) | ${best("off", k)} | ${best("on", k)} | ${(best("on", k) / best("off", k)).toFixed(2)}× |`);
