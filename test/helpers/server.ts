/**
 * Start the real ws-emit (source via Bun, or the compiled binary when WS_EMIT_BIN is set or
 * `bin` is passed) on a free port and wait for its `listening` line.
 */
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const BIN = resolve(ROOT, "dist/ws-emit");

export interface Started {
  url: string;
  wsUrl: string;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Every stdout+stderr line so far. */
  lines: string[];
  /** Resolves with the first line matching `re` (already seen or future). */
  waitForLine(re: RegExp, timeoutMs?: number, since?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Run the compiled binary instead of the source. */
  bin?: boolean;
  cwd?: string;
  /** Do not wait for `listening` (for config errors). */
  noWait?: boolean;
}

/** The command line that runs ws-emit from source or as the binary. */
export function wsEmitCommand(bin: boolean): string[] {
  const useBin = bin || !!process.env.WS_EMIT_BIN;
  return useBin ? [process.env.WS_EMIT_BIN ?? BIN] : [process.execPath, resolve(ROOT, "src/cli.ts")];
}

/** A clean environment: tests must not pick up the developer's SECRET or REDIS. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...extra };
}

export async function startWsEmit(args: string[] = [], opts: StartOptions = {}): Promise<Started> {
  const hasAddress = args.some((a) => a === "--address" || a.startsWith("--address=") || a === "-a");
  // Redis is on by default (redis://localhost:6379/0, as the original): a test that did not ask
  // for it runs in memory, so it never talks to a Redis it did not start.
  const hasRedis = args.some((a) => a === "--redis" || a.startsWith("--redis=")) || opts.env?.REDIS !== undefined || opts.env?.WS_EMIT_REDIS !== undefined || opts.env?.WS_EMIT_DEFAULT_REDIS_URL !== undefined;
  const cmd = [...wsEmitCommand(!!opts.bin), ...(hasAddress ? [] : ["--address", "127.0.0.1:0"]), ...(hasRedis ? [] : ["--redis", "none"]), ...args];
  const proc = Bun.spawn(cmd, { env: cleanEnv(opts.env), stdout: "pipe", stderr: "pipe", stdin: "ignore", cwd: opts.cwd ?? ROOT });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (process.env.WS_EMIT_TEST_LOG) console.log(`[ws-emit] ${line}`);
        for (const w of [...waiters]) if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  pump(proc.stdout);
  pump(proc.stderr);
  /** `since`: only lines from that index on count (pass `lines.length` to wait for a new one). */
  const waitForLine = (re: RegExp, timeoutMs = 10_000, since = 0) => {
    const seen = lines.slice(since).find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${lines.join("\n")}`)), timeoutMs);
      waiters.push({ re, resolve: (l) => (clearTimeout(t), res(l)) });
      proc.exited.then(() => setTimeout(() => rej(new Error(`ws-emit exited (${proc.exitCode}) before ${re}; output:\n${lines.join("\n")}`)), 50));
    });
  };
  let url = "";
  if (!opts.noWait) {
    const line = await waitForLine(/listening on /);
    url = /listening on (\S+?)"?(\s|$|,)/.exec(line)![1]!;
  }
  const stop = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return proc.exited;
  };
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    proc,
    lines,
    waitForLine,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** Run ws-emit to completion (for --help, --version, config errors). */
export async function runWsEmit(args: string[], opts: StartOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...wsEmitCommand(!!opts.bin), ...args], { env: cleanEnv(opts.env), stdout: "pipe", stderr: "pipe", stdin: "ignore", cwd: opts.cwd ?? ROOT });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** POST /emit with a JSON body. */
export async function emit(base: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/emit`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

/** Wait for a server-side state change that has no event of its own (bounded). */
export async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** A ws-emit node on `redisUrl`, returned once it is subscribed to the fan-out (so emits from other nodes reach it). */
export async function startNode(redisUrl: string, args: string[] = []): Promise<Started> {
  const node = await startWsEmit(["--redis", redisUrl, ...args]);
  try {
    await node.waitForLine(/redis fan-out healthy/);
  } catch (e) {
    await node.stop();
    throw e;
  }
  return node;
}
