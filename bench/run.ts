/**
 * The benchmark: ws-emit and its peers (bun-raw, socket.io, nchan, Flask-SocketIO), each started
 * here on loopback, under the same load generator (bench/loadgen.ts, a separate process).
 *
 *   npm run bench                       # everything (about 20 minutes on 2 cores)
 *   npm run bench -- --quick            # ws-emit and bun-raw, fewer messages (under 3 minutes)
 *   bun bench/run.ts --scenario broadcast,idle --peers ws-emit,bun-raw --out /tmp/b.jsonl
 *
 * Prints one JSON line per run and, at the end, markdown tables with the ratios and targets;
 * writes both to --out (default bench/results/latest.jsonl, quick: bench/results/quick.jsonl)
 * and the tables beside it (.md). Installs what a peer needs (npm, apt as root) and otherwise
 * skips it with the reason printed. Every loop is bounded in count and time; only processes
 * the bench started are stopped, by PID.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { Publish, Result, Spec } from "./loadgen.ts";
import { cpuSeconds, machineBusySeconds, waitForQuiet } from "./proc.ts";
import { APT, DEFS, PEERS, ROOT, type PeerDef, type PeerName, type Transport } from "./peers.ts";
import { best, DELIVERY, embedInReadme, tables, targets, targetTable, type Row } from "./report.ts";
import { startRedis, type RedisServer } from "../test/helpers/redis.ts";

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    scenario: { type: "string" },
    peers: { type: "string" },
    out: { type: "string" },
    repeat: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (opts.help) {
  console.log("usage: bun bench/run.ts [--quick] [--scenario broadcast,fanout-large,targeted,idle,idle-max,http-ingest] [--peers ws-emit,bun-raw,socket.io,nchan,flask-socketio] [--out FILE.jsonl] [--repeat N]");
  process.exit(0);
}
const QUICK = opts.quick!;
const ALL_SCENARIOS = [...DELIVERY, "idle", "idle-max", "http-ingest"];
const scenarios = opts.scenario ? opts.scenario.split(",") : QUICK ? ALL_SCENARIOS.filter((s) => s !== "idle-max") : ALL_SCENARIOS;
const peerNames = (opts.peers ? opts.peers.split(",") : QUICK ? ["ws-emit", "bun-raw"] : PEERS) as PeerName[];
for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`);
for (const p of peerNames) if (!PEERS.includes(p)) throw new Error(`unknown peer ${p}`);
/** Runs per configuration of ws-emit, bun-raw and nchan (the ratios' two sides); the tables show the best. */
const REPEAT = Math.max(1, Number(opts.repeat ?? (QUICK ? 1 : 2)));
const REPEATED = new Set<PeerName>(["ws-emit", "bun-raw", "nchan"]);
const OUT = opts.out ?? join(ROOT, QUICK ? "bench/results/quick.jsonl" : "bench/results/latest.jsonl");

/** Sizes per scenario: subscribers, messages, publish-phase bound (s), window and batch (messages). */
const SIZES = {
  broadcast: { subscribers: 1000, messages: QUICK ? 1500 : 6000, maxSeconds: QUICK ? 3 : 10, window: 32, batch: 8, rooms: "one" },
  "fanout-large": { subscribers: 5000, messages: QUICK ? 300 : 1500, maxSeconds: QUICK ? 3 : 10, window: 16, batch: 4, rooms: "one" },
  targeted: { subscribers: 2000, messages: QUICK ? 40_000 : 300_000, maxSeconds: QUICK ? 3 : 10, window: 2000, batch: 100, rooms: "each" },
} as const;
const IDLE = 10_000;
const INGEST_SECONDS = QUICK ? 3 : 10;
const BUN = process.execPath;

/** Other engineers' jobs share this machine: before each run wait (bounded) for them to quiet down. */
const QUIET = { maxPct: 25, perRun: QUICK ? 5 : 20, budget: QUICK ? 20 : 150 };
let quietSpent = 0;
/** A run of ws-emit, bun-raw or nchan that shared the machine (other CPU over 50%) is run once more, within this many seconds in all. */
let retryBudget = QUICK ? 20 : 300;
const RETRY_OTHER_PCT = 50;
async function retryIfBusy(p: PeerName, otherCpuPct: number | undefined, again: () => Promise<void>): Promise<void> {
  if (!REPEATED.has(p) || (otherCpuPct ?? 0) <= RETRY_OTHER_PCT || retryBudget <= 0) return;
  const t = performance.now();
  say(`other CPU was ${otherCpuPct}% during that run: once more`);
  await again();
  retryBudget -= (performance.now() - t) / 1000;
}
async function quiet(): Promise<{ quietWaitS: number; otherCpuBeforePct: number }> {
  const q = await waitForQuiet([], QUIET.maxPct, Math.min(QUIET.perRun, Math.max(0, QUIET.budget - quietSpent)));
  quietSpent += q.waited;
  if (q.otherPct >= QUIET.maxPct) say(`machine busy: other processes use ${q.otherPct}% of a core (waited ${q.waited} s)`);
  return { quietWaitS: q.waited, otherCpuBeforePct: q.otherPct };
}

const t0 = performance.now();
const rows: Row[] = [];
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, "");
const say = (s: string) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);

// ---------- what the runs need ----------
let aptUpdated = false;
function apt(pkgs: string[]): string | null {
  if (process.getuid?.() !== 0) return `not root: apt-get install ${pkgs.join(" ")}`;
  if (!Bun.which("apt-get")) return "no apt-get";
  // nginx starts a service on port 80 when installed under a running systemd: leave that to the user.
  if (pkgs.some((p) => p.startsWith("nginx")) && Bun.which("systemctl") && Bun.spawnSync(["test", "-d", "/run/systemd/system"]).exitCode === 0)
    return `systemd is running: install ${pkgs.join(" ")} yourself`;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    Bun.spawnSync(["apt-get", "update", "-qq"], { env, stdout: "ignore", stderr: "ignore", timeout: 180_000 });
    aptUpdated = true;
  }
  say(`apt-get install ${pkgs.join(" ")}`);
  const r = Bun.spawnSync(["apt-get", "install", "-y", "-qq", ...pkgs], { env, stdout: "ignore", stderr: "pipe", timeout: 300_000 });
  return r.exitCode === 0 ? null : `apt-get install ${pkgs.join(" ")} failed: ${r.stderr.toString().trim().split("\n").pop()}`;
}

const skip = new Map<string, string>();
if (peerNames.includes("ws-emit")) {
  say("building dist/ws-emit");
  const b = Bun.spawnSync([BUN, "scripts/build.ts"], { cwd: ROOT, stdout: "ignore", stderr: "pipe", timeout: 120_000 });
  if (b.exitCode !== 0) skip.set("ws-emit", `build failed: ${b.stderr.toString().slice(-300)}`);
}
if (peerNames.includes("socket.io") && DEFS["socket.io"].missing()?.startsWith("npm")) {
  say("npm install (socket.io)");
  Bun.spawnSync(["npm", "install", "--no-audit", "--no-fund"], { cwd: ROOT, stdout: "ignore", stderr: "ignore", timeout: 300_000 });
}
for (const p of peerNames) {
  if (skip.has(p)) continue;
  let why = DEFS[p].missing();
  if (why && APT[p]) why = apt(APT[p]!) ?? DEFS[p].missing();
  if (why) skip.set(p, why);
}
const wantsRedis = peerNames.includes("ws-emit") && scenarios.some((s) => DELIVERY.includes(s));
let redisMissing: string | null = null;
if (wantsRedis && !Bun.which("redis-server")) redisMissing = apt(APT.redis!) ?? (Bun.which("redis-server") ? null : "redis-server not installed");
let wrkMissing: string | null = null;
if (scenarios.includes("http-ingest") && !Bun.which("wrk")) wrkMissing = apt(APT.wrk!) ?? (Bun.which("wrk") ? null : "wrk not installed");
for (const [p, why] of skip) say(`skipping ${p}: ${why}`);
if (redisMissing) say(`skipping Redis ingest: ${redisMissing}`);
if (wrkMissing) say(`skipping http-ingest: ${wrkMissing}`);

const nofile = Number(/Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 1024);
const machine = {
  cores: cpus().length,
  cpu: /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?",
  memGiB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024 / 1024),
  kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
  bun: Bun.version,
  node: Bun.spawnSync(["node", "--version"]).stdout?.toString().trim() || "-",
  nofile,
};
say(`machine: ${JSON.stringify(machine)}`);

let redis: RedisServer | null = null;

function record(row: Row) {
  rows.push(row);
  const line = JSON.stringify({ ...row, quick: QUICK, at: new Date().toISOString() });
  console.log(line);
  appendFileSync(OUT, line + "\n");
}

// ---------- one loadgen run ----------
async function loadgenRun(def: PeerDef, t: Transport, ingest: "http" | "redis", scenario: string, spec: Omit<Spec, "base" | "pids" | "protocol" | "subPath" | "publish">, rep: number | string = 1): Promise<void> {
  const meta = { scenario, peer: def.name, transport: t.name, ingest, subscribers: spec.subscribers, rep };
  if (skip.has(def.name)) return record({ ...meta, skipped: skip.get(def.name)! });
  if (ingest === "redis" && redisMissing) return record({ ...meta, skipped: redisMissing });
  say(`${scenario}: ${def.name} ${t.name} (${ingest} ingest), ${spec.subscribers} subscribers`);
  if (ingest === "redis" && !redis) redis = await startRedis();
  const q = await quiet();
  let srv;
  try {
    srv = await def.start({ redis: ingest === "redis" ? redis!.url : undefined, nofile });
  } catch (e) {
    return record({ ...meta, error: String((e as Error).message) });
  }
  const publish: Publish = ingest === "redis" ? { kind: "redis", url: redis!.url, channel: "ws-emit" } : def.httpPublish(srv.base);
  const full: Spec = { ...spec, base: srv.base, pids: srv.pids, protocol: t.protocol, subPath: t.subPath, publish };
  if (publish.kind === "http-single") Object.assign(full, { batch: 1, concurrency: 16 });
  const lg = Bun.spawn([BUN, join(ROOT, "bench/loadgen.ts"), JSON.stringify(full)], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const bound = (spec.connectSeconds + spec.maxSeconds + 60) * 1000;
  const outText = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const c of lg.stdout) {
      buf += dec.decode(c, { stream: true });
      const line = buf.split("\n").find((l) => l.startsWith("{"));
      if (line && buf.includes("\n", buf.indexOf(line))) return line;
    }
    return null;
  })();
  const errText = new Response(lg.stderr).text();
  const line = await Promise.race([outText, Bun.sleep(bound).then(() => null)]);
  // Stop the server first (its side keeps the TIME_WAITs), then let the load generator go.
  const serverTail = srv.tail();
  await srv.stop();
  lg.stdin.end();
  const exited = await Promise.race([lg.exited.then(() => true), Bun.sleep(35_000).then(() => false)]);
  if (!exited) {
    lg.kill("SIGKILL");
    await lg.exited;
  }
  if (!line) return record({ ...meta, error: `load generator gave no result within ${bound / 1000} s: ${(await errText).slice(-500)} ${serverTail.slice(-300)}` });
  const res = JSON.parse(line) as Result;
  record({ ...meta, ...res, ...q });
  await Bun.sleep(300);
  if (spec.mode === "deliver" && typeof rep === "number") await retryIfBusy(def.name, res.otherCpuPct, () => loadgenRun(def, t, ingest, scenario, spec, `${rep}-retry`));
}

const connectSeconds = 90;
async function deliveryRuns(scenario: keyof typeof SIZES) {
  const s = SIZES[scenario];
  const spec = { mode: "deliver" as const, ...s, concurrency: 1, connectConcurrency: 256, connectSeconds, settleMs: 0 };
  for (let rep = 1; rep <= REPEAT; rep++)
    for (const p of peerNames) {
      if (rep > 1 && !REPEATED.has(p)) continue;
      const def = DEFS[p];
      for (const t of def.transports) await loadgenRun(def, t, "http", scenario, spec, rep);
      if (p === "ws-emit") await loadgenRun(def, def.transports[0]!, "redis", scenario, spec, rep);
    }
}

async function idleRuns(scenario: "idle" | "idle-max") {
  let n = IDLE;
  let note = "";
  if (scenario === "idle-max") {
    // One descriptor per connection in the server and in the load generator, plus their own.
    n = Math.min(100_000, nofile - 400);
    const ports = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    const portCount = ports[1]! - ports[0]! + 1;
    if (n < 100_000) note = `open-file limit (RLIMIT_NOFILE) is ${nofile} and may not be raised here: each of the server and the load generator needs one descriptor per connection`;
    if (n > portCount) {
      n = portCount - 500;
      note += `; ${portCount} ephemeral ports towards one address, and Bun's WebSocket client cannot pick a source address`;
    }
    idleMaxNote = note;
    if (note) say(`idle-max: ${n} connections, not 100,000: ${note}`);
  }
  const spec = {
    mode: "idle" as const,
    rooms: "one" as const,
    subscribers: n,
    messages: 0,
    maxSeconds: 0,
    window: 1,
    batch: 1,
    concurrency: 1,
    connectConcurrency: 512,
    connectSeconds: scenario === "idle-max" ? 180 : connectSeconds,
    settleMs: 2000,
  };
  for (const p of scenario === "idle-max" ? (["ws-emit"] as PeerName[]) : peerNames) {
    const def = DEFS[p];
    for (const t of scenario === "idle-max" ? def.transports.slice(0, 1) : def.transports) await loadgenRun(def, t, "http", scenario, spec);
  }
}
let idleMaxNote = "";

async function ingestRuns() {
  const dir = mkdtempSync(join(tmpdir(), "ws-emit-bench-wrk-"));
  const one = async (p: PeerName, rep: number | string): Promise<number | undefined> => {
    const def = DEFS[p];
    const endpoint = p === "nchan" ? "POST /pub" : "POST /emit";
    const meta = { scenario: "http-ingest", peer: p, transport: endpoint, ingest: "http", subscribers: 0, rep };
    if (skip.has(p) || wrkMissing) {
      record({ ...meta, skipped: skip.get(p) ?? wrkMissing! });
      return undefined;
    }
    say(`http-ingest: ${p} ${endpoint}, wrk ${INGEST_SECONDS} s`);
    const q = await quiet();
    let srv;
    try {
      srv = await def.start({ nofile });
    } catch (e) {
      record({ ...meta, error: String((e as Error).message) });
      return undefined;
    }
    const { url, body } = def.ingest(srv.base);
    const script = join(dir, `${p}.lua`);
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n`);
    const cpu0 = cpuSeconds(srv.pids);
    const busy0 = machineBusySeconds();
    const w0 = performance.now();
    // `times` prints the shell's and its children's CPU: wrk's own CPU without racing its exit.
    const w = Bun.spawn(["sh", "-c", `wrk -t1 -c32 -d${INGEST_SECONDS}s --latency -s '${script}' '${url}'; times`], { stdout: "pipe", stderr: "pipe" });
    const out = await Promise.race([new Response(w.stdout).text(), Bun.sleep((INGEST_SECONDS + 30) * 1000).then(() => "")]);
    const elapsed = (performance.now() - w0) / 1000;
    const serverCpu = cpuSeconds(srv.pids) - cpu0;
    const busy = machineBusySeconds() - busy0;
    if (w.exitCode === null) w.kill("SIGKILL");
    await w.exited;
    await srv.stop();
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
    const ms = (re: RegExp) => {
      const m = re.exec(out);
      return m ? Math.round(Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 }[m[2] as "us" | "ms" | "s"] ?? 1) * 1000) / 1000 : NaN;
    };
    const times = [...out.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].pop();
    const wrkCpu = times ? Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4]) : NaN;
    const rps = num(/Requests\/sec:\s+([\d.]+)/);
    if (Number.isNaN(rps)) {
      record({ ...meta, error: `wrk gave no result: ${out.slice(0, 300)} ${await new Response(w.stderr).text()}` });
      return undefined;
    }
    const row: Row = {
      ...meta,
      requestsPerSec: Math.round(rps),
      non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
      wrkLatencyMs: { p50: ms(/\s50%\s+([\d.]+)(us|ms|s)/), p99: ms(/\s99%\s+([\d.]+)(us|ms|s)/) },
      serverCpuPct: Math.round((serverCpu / elapsed) * 100),
      wrkCpuPct: Math.round((wrkCpu / elapsed) * 100),
      otherCpuPct: Math.max(0, Math.round(((busy - serverCpu - (wrkCpu || 0)) / elapsed) * 100)),
      ...q,
    };
    record(row);
    await Bun.sleep(300);
    return row.otherCpuPct;
  };
  for (let rep = 1; rep <= REPEAT; rep++)
    for (const p of peerNames) {
      if (rep > 1 && !REPEATED.has(p)) continue;
      const other = await one(p, rep);
      await retryIfBusy(p, other, async () => void (await one(p, `${rep}-retry`)));
    }
  rmSync(dir, { recursive: true, force: true });
}

// ---------- main ----------
try {
  for (const s of scenarios) {
    if (s === "idle" || s === "idle-max") await idleRuns(s);
    else if (s === "http-ingest") await ingestRuns();
    else await deliveryRuns(s as keyof typeof SIZES);
  }
} finally {
  if (redis) await (redis as RedisServer)[Symbol.asyncDispose]();
}

const total = (performance.now() - t0) / 1000;
const cmd = `bun bench/run.ts ${process.argv.slice(2).join(" ")}`.trim();
const md = [
  `## ${QUICK ? "Quick run" : "Full run"}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
  "",
  `\`${cmd}\` — ${machine.cores} cores (${machine.cpu}), ${machine.memGiB} GiB, Linux ${machine.kernel}, Bun ${machine.bun}, Node ${machine.node}, open-file limit ${machine.nofile}; total ${(total / 60).toFixed(1)} min.`,
  "",
  REPEAT > 1 ? `Each ws-emit, bun-raw and nchan row is the best of ${REPEAT} runs (other processes may share the machine: see "other CPU"); every run is in the JSONL.\n` : "",
  tables(best(rows)),
  targetTable(targets(best(rows), rows, idleMaxNote)),
].join("\n");
writeFileSync(OUT.replace(/\.jsonl$/, "") + ".md", md);
// A full default run (every scenario and peer, default output) refreshes bench/README.md.
if (!QUICK && !opts.out && !opts.scenario && !opts.peers) {
  const machineText = `${machine.cores} cores (${machine.cpu}), ${machine.memGiB} GiB RAM, Linux ${machine.kernel}; Bun ${machine.bun}, Node ${machine.node}; open-file limit ${machine.nofile}. Other processes' CPU during each run is in the "other CPU" column.`;
  embedInReadme(join(ROOT, "bench/README.md"), machineText, md);
  say("updated bench/README.md");
}
console.log("\n" + md);
say(`done in ${total.toFixed(0)} s; results in ${OUT}`);
process.exit(0);
