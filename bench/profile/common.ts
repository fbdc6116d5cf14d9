/**
 * Shared helpers for bench/profile: start ws-emit or bun-raw on a free loopback port, read a
 * process's VmRSS, stop only what we started (by PID). Everything is bounded in time.
 */
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath;

export interface Srv {
  name: string;
  url: string;
  pid: number;
  proc: Bun.Subprocess;
  stop(): Promise<void>;
}

/**
 * `which`: "raw" (../peers/bun-raw.ts, the bench's own bun-raw peer), "ws-emit" (dist/ws-emit when built, unless SRC=1: the
 * source), "bin:<path>" (another ws-emit binary, e.g. a build of an older commit for A/B), or
 * "script:<path>" (a variant of ../peers/bun-raw.ts, run by bun).
 */
export async function startServer(which: string, extraArgs: string[] = []): Promise<Srv> {
  const useBin = process.env.SRC !== "1" && (await Bun.file(resolve(ROOT, "dist/ws-emit")).exists());
  const wsEmit = which.startsWith("bin:") ? [which.slice(4)] : useBin ? [resolve(ROOT, "dist/ws-emit")] : [BUN, resolve(ROOT, "src/cli.ts")];
  const cmd =
    which === "raw" || which.startsWith("script:")
      ? [BUN, which === "raw" ? resolve(import.meta.dir, "../peers/bun-raw.ts") : which.slice(7)]
      : [...wsEmit, "--address", "127.0.0.1:0", "--max-connections", "50000", ...(extraArgs.includes("--redis") ? [] : ["--redis", "none"]), ...extraArgs];
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", NO_COLOR: "1" } });
  const url = await new Promise<string>((res, rej) => {
    const t = setTimeout(() => {
      proc.kill("SIGKILL");
      rej(new Error(`${which} did not start within 15 s`));
    }, 15_000);
    let buf = "";
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) {
        buf += new TextDecoder().decode(c);
        const m = /listening on (http:\/\/[^\s"]+)/.exec(buf);
        if (m) {
          clearTimeout(t);
          res(m[1]!);
        }
        if (process.env.VERBOSE) process.stderr.write(`[${which}] ${new TextDecoder().decode(c)}`);
      }
    };
    pump(proc.stdout as ReadableStream<Uint8Array>);
    pump(proc.stderr as ReadableStream<Uint8Array>);
  });
  return {
    name: which === "raw" ? "bun-raw" : which,
    url,
    pid: proc.pid,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, "SIGKILL");
      await proc.exited;
    },
  };
}

/** VmRSS of a process in KiB. */
export function rssKiB(pid: number): number {
  const s = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
  return Number(/VmRSS:\s+(\d+)/.exec(s)![1]);
}

/** CPU time (user+sys, clock ticks) of a process. */
export function cpuTicks(pid: number): number {
  const f = (require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8") as string).split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const fmt = (n: number, d = 0) => n.toLocaleString("en", { maximumFractionDigits: d, minimumFractionDigits: d });

/**
 * Run a client helper (clients.ts) in its own process: opens `n` WebSockets to `url` and
 * prints lines as it goes. Returns a line reader and the process.
 */
export function spawnClients(args: string[]) {
  // SSE clients are fetches: lift Bun's cap of 256 concurrent ones.
  const env = { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "65535" };
  const proc = Bun.spawn([BUN, resolve(import.meta.dir, "clients.ts"), ...args], { stdout: "pipe", stderr: "inherit", stdin: "pipe", env });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; res: (l: string) => void }> = [];
  (async () => {
    let buf = "";
    for await (const c of proc.stdout as ReadableStream<Uint8Array>) {
      buf += new TextDecoder().decode(c);
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(l);
        for (const w of [...waiters]) if (w.re.test(l)) (waiters.splice(waiters.indexOf(w), 1), w.res(l));
      }
    }
  })();
  const next = (re: RegExp, timeoutMs = 60_000) =>
    new Promise<string>((res, rej) => {
      const seen = lines.find((l) => re.test(l));
      if (seen) {
        lines.splice(lines.indexOf(seen), 1);
        return res(seen);
      }
      const t = setTimeout(() => rej(new Error(`clients: no ${re} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ re, res: (l) => (clearTimeout(t), lines.splice(lines.indexOf(l), 1), res(l)) });
    });
  return {
    proc,
    next,
    send(cmd: string) {
      (proc.stdin as import("bun").FileSink).write(`${cmd}\n`);
      (proc.stdin as import("bun").FileSink).flush();
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, "SIGKILL");
      await proc.exited;
    },
  };
}
