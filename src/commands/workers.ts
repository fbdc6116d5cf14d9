/**
 * `--workers N|auto`: the serve command forks N copies of itself that share the port
 * (SO_REUSEPORT, set in server.ts when workers ≠ 1) and fan out through Redis, so one machine
 * uses all its cores. The parent only supervises: it learns the port from the first worker
 * (so port 0 resolves to one shared port), prints one `listening on` line, forwards SIGTERM and
 * SIGINT and exits when every worker has drained, and restarts a crashed worker, forever, with
 * a backoff that grows while workers keep crashing (see restartDelay).
 * It also makes the private directory and token with which workers pass Socket.IO long-polling
 * requests to the worker that owns the session (see protocols/engineio-forward.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import type { Config } from "../core/config.ts";
import type { Logger } from "../ops/log.ts";
import { LINK_ENV } from "../protocols/socketio/worker-forward.ts";
import { VERSION } from "../core/version.ts";

/** Set in a worker's environment (to its index) so it serves instead of forking again. */
const WORKER_ENV = LINK_ENV.index;
/** Crashes within a minute restarted after BASE_DELAY_MS; past them the delay doubles each time. */
const QUICK_RESTARTS = 3;
const BASE_DELAY_MS = 250;
/** The backoff never waits longer than this: a crash loop must slow down, never stop the service for good. */
export const MAX_RESTART_DELAY_MS = 30_000;

/** How long to wait before restarting a worker, given the crashes of the last minute (this one included). */
export function restartDelay(recentCrashes: number): number {
  const doublings = Math.max(0, recentCrashes - QUICK_RESTARTS);
  return Math.min(MAX_RESTART_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(doublings, 20));
}

export const isWorker = (): boolean => !!process.env[WORKER_ENV];
/** This worker's number (1…N), for its log lines; null in a single process or the supervisor. */
export const workerNumber = (): number | null => (isWorker() ? Number(process.env[WORKER_ENV]) || null : null);

type ListeningMsg = { type: "listening"; url: string; port: number; pid: number };

/** In a worker: tell the supervisor where it listens; stop when the supervisor is gone. */
export function reportListening(log: Logger, url: string, port: number): void {
  log.info(`pid ${process.pid} serving ${url}`);
  const msg: ListeningMsg = { type: "listening", url, port, pid: process.pid };
  process.send?.(msg);
  // An orphaned worker would hold the port forever: drain and exit like on SIGTERM.
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
}

/** The command line that starts this program again, from source or as the compiled binary. */
function selfCommand(): string[] {
  const script = process.argv[1] ?? "";
  // A compiled binary reports its embedded entry point (/$bunfs/…) as argv[1].
  const compiled = script.startsWith("/$bunfs/") || script.includes("~BUN") || script === process.execPath;
  return compiled || script === "" ? [process.execPath, ...process.argv.slice(2)] : [process.execPath, script, ...process.argv.slice(2)];
}

export async function superviseWorkers(config: Config, log: Logger): Promise<void> {
  const n = config.workers === 0 ? availableParallelism() : config.workers;
  const base = selfCommand();
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let port = config.port;
  const procs = new Map<number, Bun.Subprocess>();
  const crashes: number[] = [];
  let stopping = false;
  // mkdtemp makes the directory 0700: only this user reaches the workers' private sockets.
  const linkDir = mkdtempSync(`${tmpdir()}/ws-emit-workers-`);
  const linkToken = randomBytes(32).toString("base64url");
  process.on("exit", () => rmSync(linkDir, { recursive: true, force: true }));

  function spawnWorker(i: number): Promise<ListeningMsg> {
    // The last --address wins, so appending pins every worker to the one shared port.
    const cmd = port === 0 ? base : [...base, "--address", `${host}:${port}`];
    return new Promise((resolve, reject) => {
      const proc = Bun.spawn(cmd, {
        env: {
          // Bun runs at most 256 fetches at once per process (also the compiled binary; checked
          // on 1.4.5) and queues the rest. Each forwarded long-poll holds one for up to the ping
          // interval, so past 256 a forwarded POST would wait for some GET to be answered.
          BUN_CONFIG_MAX_HTTP_REQUESTS: "65535",
          ...process.env,
          [WORKER_ENV]: String(i),
          [LINK_ENV.dir]: linkDir,
          [LINK_ENV.token]: linkToken,
        },
        stdio: ["ignore", "inherit", "inherit"],
        // Own process group: a Ctrl-C reaches only the supervisor, which forwards it once.
        detached: true,
        ipc(m) {
          const msg = m as ListeningMsg;
          if (msg?.type === "listening") resolve(msg);
        },
      });
      procs.set(i, proc);
      proc.exited.then(() => {
        reject(new Error(`worker ${i} exited (${proc.signalCode ?? proc.exitCode}) before listening`));
        onExit(i, proc);
      });
    });
  }

  function onExit(i: number, proc: Bun.Subprocess) {
    if (procs.get(i) === proc) procs.delete(i);
    if (stopping) {
      if (procs.size === 0) {
        log.info("all workers stopped");
        process.exit(0);
      }
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length && crashes[0]! < now - 60_000) crashes.shift();
    // Never give up: the other workers keep serving, and whatever makes this one crash (a bad
    // message, a full disk) may pass. Only the pace of restarts backs off.
    const delay = restartDelay(crashes.length);
    const loop = crashes.length > QUICK_RESTARTS ? ` (${crashes.length} worker exits in the last minute: backing off, at most ${MAX_RESTART_DELAY_MS / 1000} s between restarts, restarting for as long as it takes)` : "";
    log.error(`worker ${i} (pid ${proc.pid}) exited (${proc.signalCode ?? proc.exitCode}); restarting in ${delay} ms${loop}`);
    setTimeout(() => {
      if (stopping) return;
      spawnWorker(i).catch((e) => log.error((e as Error).message));
    }, delay);
  }

  function stopAll(sig: NodeJS.Signals, code: number) {
    stopping = true;
    for (const p of procs.values()) p.kill(sig);
    if (procs.size === 0) process.exit(code);
    // Workers drain for --drain; after that (and a margin) nothing should still run.
    setTimeout(() => {
      for (const p of procs.values()) p.kill("SIGKILL");
      process.exit(code || 1);
    }, config.drainMs + 5000).unref();
    if (code !== 0) Promise.all([...procs.values()].map((p) => p.exited)).then(() => process.exit(code));
  }

  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${sig} again: killing workers`);
      for (const p of procs.values()) p.kill("SIGKILL");
      process.exit(1);
    }
    log.info(`${sig}: stopping ${procs.size} workers`);
    stopAll(sig, 0);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  // systemctl reload / kill -HUP on the supervisor: every worker reloads its TLS certificate.
  process.on("SIGHUP", () => {
    log.info(`SIGHUP: passing it to ${procs.size} workers`);
    for (const p of procs.values()) p.kill("SIGHUP");
  });

  let first: ListeningMsg;
  try {
    // The first worker resolves port 0; the others join it on that port.
    first = await spawnWorker(1);
    port = first.port;
    const rest = await Promise.all(Array.from({ length: n - 1 }, (_, k) => spawnWorker(k + 2)));
    // The kernel picks a worker per TCP connection; an Engine.IO polling session spans several.
    log.info(`socket.io long-polling requests reach the worker that owns their session through unix sockets in ${linkDir}`);
    log.info(`listening on ${first.url}`, { url: first.url, version: VERSION, engine: "redis", workers: n, pids: [first.pid, ...rest.map((r) => r.pid)] });
  } catch (e) {
    log.error(`cannot start ${n} workers: ${(e as Error).message}`);
    stopAll("SIGTERM", 1);
  }
  await new Promise(() => {}); // run until a signal
}
