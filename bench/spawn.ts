/** Start a server process that prints "listening on http://HOST:PORT", keeping the tail of its output. */
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

export interface Spawned {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** The last `keepLines` lines of stdout and stderr. */
  lines: string[];
  /** The URL it listens on, or null if it exited or `timeoutMs` passed first. */
  listening: Promise<string | null>;
}

export function spawnListening(cmd: string[], opts: { env?: Record<string, string>; keepLines?: number; timeoutMs?: number } = {}): Spawned {
  const keep = opts.keepLines ?? 200;
  const proc = Bun.spawn(cmd, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  let found: (url: string) => void;
  const url = new Promise<string>((r) => (found = r));
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of s) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (lines.push(line) > keep) lines.shift();
        const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(line);
        if (m) found(m[1]!);
      }
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const listening = Promise.race([url, Bun.sleep(opts.timeoutMs ?? 15_000).then(() => null), proc.exited.then(() => null)]);
  return { proc, lines, listening };
}
