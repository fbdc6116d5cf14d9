/**
 * `--workers 2`: two processes share one port (SO_REUSEPORT) and fan out through Redis.
 * Each new TCP connection lands on either worker, so raw one-shot HTTP requests (no keep-alive
 * pool) show both pids; an emit taken by either worker reaches the clients of both.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { emit, runWsEmit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";

/** GET over a fresh TCP connection (fetch would reuse one pooled connection, i.e. one worker). */
async function freshGet(base: string, path: string): Promise<any> {
  const u = new URL(base);
  let text = "";
  await new Promise<void>((resolve, reject) => {
    Bun.connect({
      hostname: u.hostname,
      port: Number(u.port),
      socket: {
        open(s) {
          s.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`);
        },
        data(_s, d) {
          text += new TextDecoder().decode(d);
        },
        close: () => resolve(),
        error: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
  return JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
}

/** Ask over fresh connections until every one of `n` workers answered (bounded). */
async function byWorker(base: string, path: string, n: number): Promise<Map<number, any>> {
  const seen = new Map<number, any>();
  for (let i = 0; i < 200 && seen.size < n; i++) {
    const body = await freshGet(base, path);
    seen.set(body.pid, body);
  }
  return seen;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let redis: RedisServer;
let srv: Started;
beforeAll(async () => {
  redis = await startRedis();
  srv = await startWsEmit(["--redis", redis.url, "--workers", "2", "--redis-canary", "500ms", "--drain", "500ms"]);
  const first = await srv.waitForLine(/redis fan-out healthy/);
  await srv.waitForLine(/redis fan-out healthy/, 10_000, srv.lines.indexOf(first) + 1);
});
afterAll(async () => {
  await srv?.stop();
  await redis?.[Symbol.asyncDispose]();
});

describe("--workers", () => {
  test("one listening line from the supervisor; two worker processes answer on the same port", async () => {
    expect(srv.lines.filter((l) => /listening on /.test(l)).length).toBe(1);
    expect(srv.lines.find((l) => /listening on /.test(l))).toContain('"workers":2');
    const workers = await byWorker(srv.url, "/healthz", 2);
    expect(workers.size).toBe(2);
    expect(workers.has(srv.proc.pid)).toBe(false);
  });

  test("clients spread over both workers and an emit reaches every one exactly once", async () => {
    const clients: TestWs[] = [];
    for (let i = 0; i < 16; i++) {
      const c = await openWs(`${srv.wsUrl}/ws?room=w`);
      await c.next((m) => m.type === "joined");
      clients.push(c);
    }
    const stats = await byWorker(srv.url, "/stats", 2);
    const counts = [...stats.values()].map((s) => s.connections);
    expect(counts.length).toBe(2);
    expect(counts.every((n) => n > 0)).toBe(true); // both workers hold clients
    expect(counts[0] + counts[1]).toBe(16);

    const r = await emit(srv.url, { event: "hello", room: "w", data: 1 });
    expect(r.body).toMatchObject({ ok: true, cluster: true });
    await emit(srv.url, { event: "mark", room: "w" });
    await emit(srv.url, { event: "mark2", room: "w" });
    for (const c of clients) {
      await c.next((m) => m.event === "mark2");
      expect(c.received.filter((m) => m.event === "hello").length).toBe(1);
      c.close();
    }
  });

  test("a crashed worker is restarted on the same port", async () => {
    const before = await byWorker(srv.url, "/healthz", 2);
    const victim = [...before.keys()][0]!;
    const mark = srv.lines.length;
    process.kill(victim, "SIGKILL");
    await srv.waitForLine(/exited \(SIGKILL\); restarting/, 10_000, mark);
    await srv.waitForLine(/worker \d \(pid \d+\) serving/, 10_000, mark);
    await srv.waitForLine(/redis fan-out healthy/, 10_000, mark);
    const after = await byWorker(srv.url, "/healthz", 2);
    expect(after.size).toBe(2);
    expect(after.has(victim)).toBe(false);
  });

  test("SIGTERM to the supervisor drains the workers and exits 0", async () => {
    const pids = [...(await byWorker(srv.url, "/healthz", 2)).keys()];
    expect(await srv.stop("SIGTERM")).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  test("the compiled binary forks itself as its workers", async () => {
    const bin = await startWsEmit(["--redis", redis.url, "--workers", "2", "--drain", "200ms"], { bin: true });
    try {
      const workers = await byWorker(bin.url, "/healthz", 2);
      expect(workers.size).toBe(2);
    } finally {
      expect(await bin.stop("SIGTERM")).toBe(0);
    }
  });

  test("--workers without --redis is a configuration error naming the flag", async () => {
    const r = await runWsEmit(["--workers", "2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--workers needs --redis");
  });
});
