/**
 * --pid-file and worker log lines: `kill -HUP $(cat FILE)` reaches this ws-emit (the supervisor
 * under --workers, which passes it on) and nothing else; the file goes away at exit; every line
 * a worker logs carries its number.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedis } from "../helpers/redis.ts";
import { runWsEmit, startWsEmit } from "../helpers/server.ts";

const dir = mkdtempSync(join(tmpdir(), "ws-emit-pid-"));
const sh = async (cmd: string) => {
  const p = Bun.spawn(["sh", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  return { code: await p.exited, err: await new Response(p.stderr).text() };
};

describe("--pid-file", () => {
  test("one process: the file holds its pid, kill -HUP $(cat FILE) reaches it, exit removes the file", async () => {
    const file = join(dir, "one.pid");
    const srv = await startWsEmit(["--redis", "none", "--pid-file", file]);
    expect(readFileSync(file, "utf8")).toBe(`${srv.proc.pid}\n`);
    const mark = srv.lines.length;
    expect((await sh(`kill -HUP $(cat ${file})`)).code).toBe(0);
    await srv.waitForLine(/SIGHUP: no --tls-cert/, 10_000, mark);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    expect(await srv.stop("SIGTERM")).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  test("a pid file in a missing directory is an error naming --pid-file", async () => {
    const r = await runWsEmit(["--redis", "none", "--address", "127.0.0.1:0", "--pid-file", "/nonexistent-dir/ws-emit.pid"]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain("--pid-file: cannot write /nonexistent-dir/ws-emit.pid: its directory does not exist");
  });

  test("--workers: the supervisor's pid; SIGHUP reaches every worker; worker lines carry their number", { timeout: 30_000 }, async () => {
    await using redis = await startRedis();
    const file = join(dir, "workers.pid");
    const srv = await startWsEmit(["--redis", redis.url, "--workers", "2", "--pid-file", file]);
    expect(readFileSync(file, "utf8")).toBe(`${srv.proc.pid}\n`);
    for (const n of [1, 2]) await srv.waitForLine(new RegExp(`^\\[info\\] \\[worker ${n}\\] pid \\d+ serving`));
    // Every line from a worker is tagged: the Redis lines too.
    await srv.waitForLine(/^\[info\] \[worker [12]\] redis fan-out healthy/);
    const mark = srv.lines.length;
    expect((await sh(`kill -HUP $(cat ${file})`)).code).toBe(0);
    await srv.waitForLine(/SIGHUP: passing it to 2 workers/, 10_000, mark);
    for (const n of [1, 2]) await srv.waitForLine(new RegExp(`\\[worker ${n}\\] SIGHUP: no --tls-cert`), 10_000, mark);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    expect(await srv.stop("SIGTERM")).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});
