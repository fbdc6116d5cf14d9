/**
 * `--workers 2`: two processes share one port (SO_REUSEPORT) and fan out through Redis.
 * Each new TCP connection lands on either worker, so raw one-shot HTTP requests (no keep-alive
 * pool) show both pids; an emit taken by either worker reaches the clients of both. Socket.IO
 * long-polling sessions span connections, so requests reaching the wrong worker are forwarded
 * to the owner over its private unix socket (real socket.io-client 4.x below).
 */
import { existsSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { emit, runWsEmit, startWsEmit, type Started } from "../helpers/server.ts";
import { emitAck, once, recorder, type SioOptions } from "../helpers/sio.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";
import { io, type Socket } from "socket.io-client";

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

/** Forwarded polling requests so far, summed over both workers' /stats. */
async function forwards(base: string): Promise<number> {
  const stats = await byWorker(base, "/stats", 2);
  return [...stats.values()].reduce((n, st) => n + st.sio_forwards, 0);
}

/**
 * `n` Socket.IO clients joined to `room`. With the upgrade on, each waits until its upgrade
 * either happened or was refused (the probe reached a worker that does not own the session);
 * the listeners go on when the engine opens, before its probe starts, so no outcome is missed.
 */
async function sioClients(base: string, n: number, room: string, opts: SioOptions): Promise<{ sockets: Socket[]; upgraded: number; refused: number }> {
  const sockets: Socket[] = [];
  let upgraded = 0;
  let refused = 0;
  for (let i = 0; i < n; i++) {
    const socket = io(base, { reconnection: false, forceNew: true, ...opts });
    sockets.push(socket);
    const outcome = new Promise<"upgrade" | "refused" | "none">((resolve) => {
      socket.io.once("open", () => {
        const engine = socket.io.engine;
        if (engine.transport.name !== "polling" || opts.upgrade === false || opts.transports?.length === 1) return resolve("none");
        engine.once("upgrade", () => resolve("upgrade"));
        engine.once("upgradeError", () => resolve("refused"));
      });
    });
    const failed = new Promise<string>((resolve) => socket.once("connect_error", (e) => resolve(`connect_error: ${e.message}`)));
    const err = await Promise.race([once(socket, "connect", 10_000).then(() => null), failed]);
    if (err) throw new Error(`client ${i}: ${err}`);
    const closed = new Promise<"closed">((resolve) => socket.io.engine.once("close", () => resolve("closed")));
    const o = await Promise.race([outcome, closed]);
    if (o === "upgrade") upgraded++;
    if (o === "refused") refused++;
    expect(o).not.toBe("closed");
    expect(await emitAck(socket, "join", { room })).toEqual({ ok: true });
  }
  return { sockets, upgraded, refused };
}

/** Emit `hello` then a marker to `room`; every socket gets `hello` exactly once, before the marker. */
async function expectExactlyOnce(base: string, sockets: Socket[], room: string): Promise<void> {
  const hellos = sockets.map((s) => recorder(s, "hello"));
  const marks = sockets.map((s) => recorder(s, "mark"));
  const r = await emit(base, { event: "hello", room, data: { n: 1 } });
  expect(r.body).toMatchObject({ ok: true, cluster: true });
  await emit(base, { event: "mark", room });
  for (let i = 0; i < sockets.length; i++) {
    await marks[i]!.next(10_000);
    expect(hellos[i]!.got).toEqual([[{ n: 1 }]]);
  }
}

/** WebSockets relayed to the worker owning their session, summed over both workers' /stats. */
async function relays(base: string): Promise<number> {
  const stats = await byWorker(base, "/stats", 2);
  return [...stats.values()].reduce((n, st) => n + st.sio_relays, 0);
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

  test("20 polling-only Socket.IO clients connect and get an emit exactly once, whichever worker each request reaches", async () => {
    const before = await forwards(srv.url);
    const { sockets } = await sioClients(srv.url, 20, "poll", { transports: ["polling"] });
    try {
      // Sessions are owned by both workers (the sid names its owner)…
      const owners = new Set(sockets.map((s) => s.io.engine.id.split(".")[0]));
      expect(owners).toEqual(new Set(["1", "2"]));
      await expectExactlyOnce(srv.url, sockets, "poll");
      for (const s of sockets) expect(s.io.engine.transport.name).toBe("polling");
      // …and requests that reached the other worker were passed to the owner, not refused.
      expect(await forwards(srv.url)).toBeGreaterThan(before);
    } finally {
      for (const s of sockets) s.close();
    }
  }, 30_000);

  test("a long-poll held longer than Bun's 10 s idle timeout survives the forward (ping interval 12 s)", async () => {
    // Bun cuts an idle request after 10 s unless told otherwise, on each hop: the client's
    // worker and the owner's private socket. The first ping answers every GET after 12 s.
    const slow = await startWsEmit(["--redis", redis.url, "--workers", "2", "--sio-ping-interval", "12s", "--drain", "200ms"]);
    try {
      const first = await slow.waitForLine(/redis fan-out healthy/);
      await slow.waitForLine(/redis fan-out healthy/, 10_000, slow.lines.indexOf(first) + 1);
      // Polling requests share pooled keep-alive connections, so which worker owns a session is
      // up to the kernel's reusePort hash of those: add clients (at most 32) until both own some.
      const sockets: Socket[] = [];
      const owners = () => new Set(sockets.map((s) => s.io.engine.id.split(".")[0]));
      while (sockets.length < 32 && (sockets.length < 8 || owners().size < 2))
        sockets.push(...(await sioClients(slow.url, 4, "slow", { transports: ["polling"] })).sockets);
      expect(owners()).toEqual(new Set(["1", "2"]));
      await Promise.all(sockets.map((s) => once(s.io, "ping", 20_000)));
      expect(sockets.every((s) => s.connected)).toBe(true);
      await expectExactlyOnce(slow.url, sockets, "slow");
      for (const s of sockets) s.close();
    } finally {
      expect(await slow.stop("SIGTERM")).toBe(0);
    }
  }, 40_000);

  test("a crashed worker is restarted on the same port", async () => {
    const before = await byWorker(srv.url, "/healthz", 2);
    const victim = [...before.keys()][0]!;
    const mark = srv.lines.length;
    process.kill(victim, "SIGKILL");
    await srv.waitForLine(/exited \(SIGKILL\); restarting/, 10_000, mark);
    await srv.waitForLine(/\[worker \d\] pid \d+ serving/, 10_000, mark);
    await srv.waitForLine(/redis fan-out healthy/, 10_000, mark);
    const after = await byWorker(srv.url, "/healthz", 2);
    expect(after.size).toBe(2);
    expect(after.has(victim)).toBe(false);
  });

  test("20 default-transport clients (polling, then the upgrade) all end on WebSocket and get events exactly once", async () => {
    // Runs after the restart above: the new worker took over its private sockets.
    const relaysBefore = await relays(srv.url);
    const { sockets, upgraded, refused } = await sioClients(srv.url, 20, "dflt", {});
    try {
      // A probe that reaches the owner upgrades there; one that reaches the other worker is
      // relayed to the owner over its private socket and upgrades all the same.
      expect([upgraded, refused]).toEqual([20, 0]);
      expect(sockets.filter((s) => s.io.engine.transport.name === "websocket").length).toBe(20);
      // Each upgrade lands on either worker (1/2 each): some were relayed.
      expect((await relays(srv.url)) - relaysBefore).toBeGreaterThan(0);
      // (Each client joined its room after the upgrade: through the relay for the relayed ones.)
      await expectExactlyOnce(srv.url, sockets, "dflt");
    } finally {
      for (const s of sockets) s.close();
    }
  }, 60_000);

  test("the private worker sockets refuse a forged forward and other users", async () => {
    const line = await srv.waitForLine(/unix sockets in /);
    const dir = /unix sockets in (\S+)/.exec(line)![1]!;
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const sock = `${dir}/1.sock`;
    // Same user, no token or a wrong one: refused before any session is looked up.
    const attempts: Array<Record<string, string>> = [{}, { "x-ws-emit-forward": "guess" }];
    for (const headers of attempts) {
      const res = await fetch("http://w/socket.io/?EIO=4&transport=polling&sid=1.x", { unix: sock, headers });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe("forbidden");
    }
    // Another user cannot even connect (the directory is 0700); only meaningful when we are root.
    if (process.getuid?.() === 0) {
      const p = Bun.spawnSync(["runuser", "-u", "nobody", "--", "curl", "-sS", "--unix-socket", sock, "http://w/socket.io/"], { stderr: "pipe" });
      expect(p.exitCode).not.toBe(0);
      expect(p.stderr.toString()).toMatch(/Permission denied|Couldn't connect/i);
    }
  });

  test("SIGTERM to the supervisor drains the workers and exits 0", async () => {
    const pids = [...(await byWorker(srv.url, "/healthz", 2)).keys()];
    const dir = /unix sockets in (\S+)/.exec(await srv.waitForLine(/unix sockets in /))![1]!;
    expect(await srv.stop("SIGTERM")).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false); // the private directory is removed
  });

  test("the compiled binary forks itself as its workers", async () => {
    const bin = await startWsEmit(["--redis", redis.url, "--workers", "2", "--drain", "200ms"], { bin: true });
    try {
      const first = await bin.waitForLine(/redis fan-out healthy/);
      await bin.waitForLine(/redis fan-out healthy/, 10_000, bin.lines.indexOf(first) + 1);
      const workers = await byWorker(bin.url, "/healthz", 2);
      expect(workers.size).toBe(2);
      const { sockets } = await sioClients(bin.url, 10, "bin", { transports: ["polling"] });
      await expectExactlyOnce(bin.url, sockets, "bin");
      for (const s of sockets) s.close();
    } finally {
      expect(await bin.stop("SIGTERM")).toBe(0);
    }
  }, 30_000);

  test("--workers without Redis is a configuration error naming the flag", async () => {
    const r = await runWsEmit(["--workers", "2", "--redis", "none"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--workers needs --redis");
  });
});
