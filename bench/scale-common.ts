/**
 * What the scale benches share: ws-emit processes (one node, or --workers) on one redis-server,
 * load-generator processes (bench/scale-client.ts) each with its own loopback source address,
 * and the "done" reports that say when every subscriber of an emit has it. Every process
 * started here is stopped here, by PID.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startRedis, type RedisServer } from "../test/helpers/redis.ts";
import { spawnListening } from "./spawn.ts";

export const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;
export { startRedis, type RedisServer };

export interface Node {
  base: string;
  port: number;
  /** The process started and, under --workers, its workers. */
  pids(): number[];
  lines: string[];
  stop(): Promise<void>;
}

/** dist/ws-emit with `args`, returned once it printed its listening line (and, with Redis, /readyz is 200). */
export async function startNode(args: string[], opts: { workers?: number } = {}): Promise<Node> {
  const { proc, lines, listening } = spawnListening([join(ROOT, "dist/ws-emit"), "--address", "127.0.0.1:0", "--max-connections", "200000", "--drain", "200ms", ...args], { keepLines: 400, timeoutMs: 30_000 });
  const base = await listening;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(8000).then(() => false)]);
    if (!done) {
      for (const p of descendants(proc.pid)) safeKill(p);
      proc.kill("SIGKILL");
      await proc.exited;
    }
  };
  if (!base) {
    await stop();
    throw new Error(`ws-emit did not start:\n${lines.slice(-20).join("\n")}`);
  }
  const node: Node = { base, port: Number(new URL(base).port), pids: () => [proc.pid, ...descendants(proc.pid)], lines, stop };
  if (args.includes("--redis") && !args.includes("none")) {
    // Every worker subscribed before anything is published.
    const want = opts.workers ?? 1;
    for (let i = 0; i < 400 && lines.filter((l) => /redis fan-out healthy/.test(l)).length < want; i++) await Bun.sleep(50);
  }
  return node;
}

function safeKill(pid: number) {
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

/** Child processes of `pid` (one level: the supervisor's workers). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {}
  }
  return out;
}

export interface Clients {
  /** Resolves when every process reported its connect phase. */
  joined: Promise<{ joined: number; errors: number; seconds: number }>;
  /** Resolves when every process has reported `seq` done (all its members of the seq's room); the latest epoch ms. */
  done(seq: number, procsExpected?: number): Promise<number>;
  /** Count of seqs every process (or the expected number) has reported done, and their completion times. */
  completed(): Map<number, { n: number; at: number }>;
  /** Resolves once `count` seqs are fully done (reported by `need` processes, as given to startClients). */
  fullyDone(count: number): Promise<void>;
  report(): Promise<{ received: number; disconnects: number; missing: number; incompleteSeqs: number }>;
  /** The load-generator processes (for their CPU). */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Start one load-generator process per plan (each its own source address; each < 20,000 sockets).
 * `conns[i]`: [port, path, room].
 */
export function startClients(plans: Array<{ localAddress?: string; conns: Array<[number, string, string]> }>, opts: { need?: number; concurrency?: number; connectSeconds?: number } = {}): Clients {
  const { concurrency = 256, connectSeconds = 300 } = opts;
  const need = opts.need ?? plans.length;
  let full = 0;
  let fullWaiters: Array<{ count: number; resolve: () => void }> = [];
  const doneBy = new Map<number, { n: number; at: number }>();
  const waiters = new Map<number, Array<{ need: number; resolve: (at: number) => void }>>();
  let joinedCount = 0;
  const joinedAgg = { joined: 0, errors: 0, seconds: 0 };
  let joinedResolve!: (v: typeof joinedAgg) => void;
  const joined = new Promise<typeof joinedAgg>((r) => (joinedResolve = r));
  const reports: Array<(r: any) => void> = [];
  const procs = plans.map((plan) =>
    Bun.spawn([BUN, join(ROOT, "bench/scale-client.ts")], {
      cwd: ROOT,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      ipc(m: any) {
        if (m.type === "joined") {
          joinedAgg.joined += m.joined;
          joinedAgg.errors += m.errors;
          joinedAgg.seconds = Math.max(joinedAgg.seconds, m.seconds);
          if (++joinedCount === plans.length) joinedResolve(joinedAgg);
        } else if (m.type === "done") {
          for (const [seq, at] of m.items as Array<[number, number]>) {
            const d = doneBy.get(seq) ?? { n: 0, at: 0 };
            d.n++;
            d.at = Math.max(d.at, at);
            doneBy.set(seq, d);
            if (d.n === need) {
              full++;
              if (fullWaiters.length) {
                for (const w of fullWaiters) if (full >= w.count) w.resolve();
                fullWaiters = fullWaiters.filter((w) => full < w.count);
              }
            }
            const ws = waiters.get(seq);
            if (ws) for (const w of ws.filter((x) => d.n >= x.need)) (w.resolve(d.at), ws.splice(ws.indexOf(w), 1));
          }
        } else if (m.type === "report") reports.shift()?.(m);
      },
    }),
  );
  procs.forEach((p, i) => p.send({ type: "plan", ...plans[i], concurrency, connectSeconds }));
  return {
    joined,
    done(seq, need = plans.length) {
      const d = doneBy.get(seq);
      if (d && d.n >= need) return Promise.resolve(d.at);
      return new Promise((resolve) => {
        const list = waiters.get(seq) ?? [];
        list.push({ need, resolve });
        waiters.set(seq, list);
      });
    },
    completed: () => doneBy,
    pids: procs.map((p) => p.pid),
    fullyDone(count) {
      if (full >= count) return Promise.resolve();
      return new Promise((resolve) => fullWaiters.push({ count, resolve }));
    },
    async report() {
      const all = await Promise.all(
        procs.map((p) => {
          const r = new Promise<any>((res) => reports.push(res));
          p.send({ type: "report" });
          return r;
        }),
      );
      return all.reduce((a, r) => ({ received: a.received + r.received, disconnects: a.disconnects + r.disconnects, missing: a.missing + r.missing, incompleteSeqs: a.incompleteSeqs + r.incompleteSeqs }), { received: 0, disconnects: 0, missing: 0, incompleteSeqs: 0 });
    },
    async stop() {
      for (const p of procs) {
        try {
          p.send({ type: "exit" });
        } catch {}
      }
      await Promise.race([Promise.all(procs.map((p) => p.exited)), Bun.sleep(5000)]);
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    },
  };
}

/** POST /emit (loopback: no secret needed). */
export async function emit(base: string, body: unknown): Promise<void> {
  const r = await fetch(`${base}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`POST /emit ${r.status}: ${await r.text()}`);
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN;
};
