/** Run an example's backend script (node) for a browser test and wait for the page URL it prints. */
import { resolve } from "node:path";
import { cleanEnv, ROOT } from "./server.ts";

export interface RunningExample {
  page: string;
  lines: string[];
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `ready`: the line that says it runs (default: the "page: <url>" line, whose URL becomes `page`). */
export async function runExample(cmd: string[], env: Record<string, string>, ready: RegExp = /page: /): Promise<RunningExample> {
  const proc = Bun.spawn(cmd.map((c, i) => (i === 1 && c.startsWith("examples/") ? resolve(ROOT, c) : c)), {
    cwd: ROOT,
    env: cleanEnv(env),
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; ok: (l: string) => void }> = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const chunk of s) {
      buf += new TextDecoder().decode(chunk);
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (process.env.WS_EMIT_TEST_LOG) console.log(`[example] ${line}`);
        for (const w of [...waiters]) if (w.re.test(line)) (waiters.splice(waiters.indexOf(w), 1), w.ok(line));
      }
    }
  };
  pump(proc.stdout);
  pump(proc.stderr);
  const waitForLine = (re: RegExp, timeoutMs = 15_000) => {
    const seen = lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`no line matching ${re}; output:\n${lines.join("\n")}`)), timeoutMs);
      waiters.push({ re, ok: (l) => (clearTimeout(t), ok(l)) });
      proc.exited.then(() => setTimeout(() => fail(new Error(`${cmd.join(" ")} exited (${proc.exitCode}); output:\n${lines.join("\n")}`)), 50));
    });
  };
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill();
    await proc.exited;
  };
  let page = "";
  try {
    page = /page: (\S+)/.exec(await waitForLine(ready))?.[1] ?? "";
  } catch (e) {
    await stop();
    throw e;
  }
  return { page, lines, waitForLine, stop, [Symbol.asyncDispose]: stop };
}
