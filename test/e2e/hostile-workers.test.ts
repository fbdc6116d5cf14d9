/**
 * `--workers`: a crash loop never stops the service for good (issue 11). A worker is killed with
 * SIGKILL again and again, more often than the old limit (5 a minute, then the supervisor gave
 * up and the whole service stayed down): the supervisor restarts it every time, backing off and
 * saying so, while the other worker keeps answering on the shared port. Compiled binary.
 */
import { expect, test } from "bun:test";
import { startRedis } from "../helpers/redis.ts";
import { startWsEmit } from "../helpers/server.ts";
import { restartDelay, MAX_RESTART_DELAY_MS } from "../../src/commands/workers.ts";

test("restart delays: a few quick ones, then doubling, capped at 30 s", () => {
  expect([1, 2, 3, 4, 5, 6, 7].map(restartDelay)).toEqual([250, 250, 250, 500, 1000, 2000, 4000]);
  expect(restartDelay(100)).toBe(MAX_RESTART_DELAY_MS);
  expect(MAX_RESTART_DELAY_MS).toBe(30_000);
});

test("a worker killed 7 times in a row comes back each time; the service answers throughout", { timeout: 90_000 }, async () => {
  await using redis = await startRedis();
  await using srv = await startWsEmit(["--redis", redis.url, "--workers", "2", "--drain", "500ms"], { bin: true });
  const supervisor = srv.proc.pid;
  const serving = /\[worker (\d+)\] pid (\d+) serving/;
  await srv.waitForLine(/listening on /);
  let victim = Number(serving.exec(srv.lines.findLast((l) => serving.test(l))!)![2]);
  for (let round = 1; round <= 7; round++) {
    const mark = srv.lines.length;
    process.kill(victim, "SIGKILL");
    const exited = await srv.waitForLine(/exited \(SIGKILL\); restarting in \d+ ms/, 10_000, mark);
    // While this worker waits for its restart, the other one serves the port.
    expect((await fetch(`${srv.url}/healthz`, { headers: { Connection: "close" } })).status).toBe(200);
    if (round > 3) expect(exited).toContain("backing off");
    const back = await srv.waitForLine(serving, 30_000, mark);
    victim = Number(serving.exec(back)![2]);
  }
  expect(srv.lines.some((l) => /stopping/.test(l))).toBe(false);
  expect(srv.proc.exitCode).toBeNull();
  process.kill(supervisor, 0);
  expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
});
