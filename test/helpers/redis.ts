/** Start a real redis-server on a free loopback port for one test file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A free loopback port to use a moment later (redis-server started by the test, or restarted
 * on the same port). Taken below Linux's ephemeral range (32768–60999): a port 0 listener or an
 * outgoing connection of any other process can grab an ephemeral port in between, which made
 * "Failed listening on port … aborting" flakes while other suites ran.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      const s = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.stop(true);
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error("no free port between 20000 and 32000");
}

export interface RedisServer {
  port: number;
  url: string;
  proc: Bun.Subprocess;
  dir: string;
  stop(): Promise<void>;
  /** Start again on the same port (after stop), e.g. to test reconnects. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startRedis(extraArgs: string[] = [], port?: number): Promise<RedisServer> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "ws-emit-redis-"));
  const spawn = async () => {
    const proc = Bun.spawn(["redis-server", "--port", String(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extraArgs], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const dec = new TextDecoder();
    let out = "";
    for await (const chunk of proc.stdout) {
      out += dec.decode(chunk);
      if (out.includes("Ready to accept connections")) break;
      if (proc.exitCode !== null) break;
    }
    if (!out.includes("Ready to accept connections")) throw new Error(`redis-server did not start:\n${out}`);
    // Keep draining stdout so redis-server never blocks on a full pipe.
    (async () => {
      for await (const _ of proc.stdout) {
      }
    })();
    return proc;
  };
  const r: RedisServer = {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    proc: await spawn(),
    dir,
    async stop() {
      r.proc.kill("SIGKILL");
      await r.proc.exited;
    },
    async restart() {
      r.proc = await spawn();
    },
    async [Symbol.asyncDispose]() {
      await r.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}

/** Run redis-cli against a server. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const proc = Bun.spawn(["redis-cli", "-p", String(port), ...args], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return out.trim();
}
