/**
 * The browser client (/client.min.js, /client.js) in headless Chromium against the real server:
 * joins and errors, leave, a server restart on the same port, a drain (1012) to a second server,
 * SSE when a proxy refuses WebSocket upgrades and back to WebSocket when it allows them again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { emit, startWsEmit, until, type Started } from "../helpers/server.ts";
import { freePort, startProxy } from "../helpers/tcp-proxy.ts";
import { redisCli, startRedis } from "../helpers/redis.ts";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** Network failures the browser logs itself while a server is down (expected in restart tests). */
const NETWORK = /WebSocket connection to|Failed to load resource|net::ERR_/;

interface ClientPage {
  page: Page;
  /** Console errors and uncaught exceptions (network noise excluded when `allowNetwork`). */
  problems: string[];
  /** window.log: every callback the client made, in order. */
  log(): Promise<Array<{ k: string; v: any; m?: any }>>;
  waitFor(expr: string): Promise<void>;
}

/** A page on `base` with the classic-script client loaded and a client connected (window.c). */
async function clientPage(base: string, opts: Record<string, unknown>, allowNetwork = false): Promise<ClientPage> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && !(allowNetwork && NETWORK.test(m.text())) && problems.push(m.text()));
  await page.route("**/favicon.ico", (r) => r.fulfill({ status: 204 }));
  // Any same-origin page will do: the client connects to the page's origin by default.
  await page.goto(`${base}/healthz`);
  await page.addScriptTag({ url: `${base}/client.min.js` });
  await page.evaluate((o) => {
    const w = globalThis as any;
    w.log = [];
    w.c = w.WsEmit.connect(undefined, o);
    for (const k of ["state", "error", "joined", "left", "gap", "update"]) w.c.on(k, (v: unknown, m: unknown) => w.log.push({ k, v, m }));
  }, opts);
  return {
    page,
    problems,
    log: () => page.evaluate(() => (globalThis as any).log),
    waitFor: async (expr) => void (await page.waitForFunction(expr, undefined, { timeout: 20_000 })),
  };
}

/** The page's network drops (the proxy cuts and refuses): wait until the client and the server both see it. */
async function dropNetwork(cp: ClientPage, proxy: { down: boolean; cut(): void }, serverUrl: string): Promise<void> {
  proxy.down = true;
  proxy.cut();
  await cp.waitFor(`window.c.state === "reconnecting"`);
  await until(async () => ((await (await fetch(`${serverUrl}/stats`)).json()) as any).connections === 0, "the server to see the connection gone");
}

const updates = (log: Array<{ k: string; v: any; m?: any }>) => log.filter((e) => e.k === "update").map((e) => ({ data: e.v, room: e.m.room }));
const joinedCount = (room: string) => `window.log.filter(e => e.k === "joined" && e.v.room === ${JSON.stringify(room)}).length`;

describe("client library in Chromium", () => {
  test("joins public and private rooms, reports a refused join as an error event, leaves", { timeout: 30_000 }, async () => {
    await using srv = await startWsEmit(["--roomspace-secret", "dir=S3cret"]);
    const cp = await clientPage(srv.url, { transport: "ws" });
    await cp.page.evaluate(() => (globalThis as any).c.join("time").join("dir::a", { secret: "wrong" }));
    await cp.waitFor(`window.log.some(e => e.k === "error") && ${joinedCount("time")} === 1`);
    const err = (await cp.log()).find((e) => e.k === "error")!.v;
    expect(err).toMatchObject({ code: "forbidden", room: "dir::a" });
    // A refused room is dropped (not retried with the wrong secret on every reconnect).
    expect(await cp.page.evaluate(() => (globalThis as any).c.rooms())).toEqual(["time"]);
    await cp.page.evaluate(() => (globalThis as any).c.join("dir::a", { secret: "S3cret" }));
    await cp.waitFor(`${joinedCount("dir::a")} === 1`);
    expect(await cp.page.evaluate(() => [(globalThis as any).c.state, (globalThis as any).c.transport])).toEqual(["open", "ws"]);

    expect((await emit(srv.url, { event: "update", room: "time", data: { t: 1 } })).body.delivered).toBe(1);
    expect((await emit(srv.url, { event: "update", room: "dir::a", data: { t: 2 } })).body.delivered).toBe(1);
    await cp.waitFor(`window.log.filter(e => e.k === "update").length === 2`);
    expect(updates(await cp.log())).toEqual([
      { data: { t: 1 }, room: "time" },
      { data: { t: 2 }, room: "dir::a" },
    ]);

    await cp.page.evaluate(() => (globalThis as any).c.leave("time"));
    await cp.waitFor(`window.log.some(e => e.k === "left" && e.v.room === "time")`);
    expect((await emit(srv.url, { event: "update", room: "time", data: { t: 3 } })).body.delivered).toBe(0);
    await cp.page.evaluate(() => (globalThis as any).c.close());
    expect((await cp.log()).filter((e) => e.k === "state").map((e) => e.v)).toEqual(["open", "closed"]);
    expect(cp.problems).toEqual([]);
    await cp.page.close();
  });

  test("the ES module /client.js over SSE: joining a second room reopens the stream with both", { timeout: 30_000 }, async () => {
    await using srv = await startWsEmit([]);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    await page.route("**/favicon.ico", (r) => r.fulfill({ status: 204 }));
    await page.goto(`${srv.url}/healthz`);
    await page.evaluate(async () => {
      const w = globalThis as any;
      const { connect } = await import("/client.js" as string);
      w.log = [];
      w.c = connect(undefined, { transport: "sse" });
      w.c.on("update", (v: unknown, m: any) => w.log.push({ v, room: m.room }));
      w.c.on("joined", (v: any) => w.log.push({ joined: v.room }));
      w.c.join("a");
    });
    await page.waitForFunction(`window.log.some(e => e.joined === "a")`);
    expect(await page.evaluate(() => (globalThis as any).c.transport)).toBe("sse");
    await page.evaluate(() => (globalThis as any).c.join("b"));
    await page.waitForFunction(`window.log.some(e => e.joined === "b")`);
    expect((await emit(srv.url, { event: "update", room: "a", data: 1 })).body.delivered).toBe(1);
    expect((await emit(srv.url, { event: "update", room: "b", data: 2 })).body.delivered).toBe(1);
    await page.waitForFunction(`window.log.filter(e => "v" in e).length === 2`);
    expect((await page.evaluate(() => (globalThis as any).log)).filter((e: any) => "v" in e)).toEqual([
      { v: 1, room: "a" },
      { v: 2, room: "b" },
    ]);
    expect(problems).toEqual([]);
    await page.close();
  });

  test("survives a server restart on the same port: reconnects and re-joins with its secret", { timeout: 40_000 }, async () => {
    const port = await freePort();
    const args = ["--address", `127.0.0.1:${port}`, "--roomspace-secret", "dir=S3cret"];
    let srv: Started = await startWsEmit(args);
    try {
      const cp = await clientPage(srv.url, { minDelay: 100, maxDelay: 1000 }, true);
      await cp.page.evaluate(() => (globalThis as any).c.join("dir::a", { secret: "S3cret" }));
      await cp.waitFor(`${joinedCount("dir::a")} === 1`);
      await srv.stop("SIGKILL");
      await cp.waitFor(`window.c.state === "reconnecting"`);
      srv = await startWsEmit(args);
      await cp.waitFor(`${joinedCount("dir::a")} === 2`);
      expect((await emit(srv.url, { event: "update", room: "dir::a", data: "after" })).body.delivered).toBe(1);
      await cp.waitFor(`window.log.some(e => e.k === "update")`);
      expect(updates(await cp.log())).toEqual([{ data: "after", room: "dir::a" }]);
      const states = (await cp.log()).filter((e) => e.k === "state").map((e) => e.v);
      expect(states[0]).toBe("open");
      expect(states.at(-1)).toBe("open");
      expect(states).toContain("reconnecting");
      expect(cp.problems).toEqual([]);
      await cp.page.close();
    } finally {
      await srv.stop();
    }
  });

  test("a drain (SIGTERM, close 1012) moves it to the next server behind the same address", { timeout: 40_000 }, async () => {
    await using a = await startWsEmit(["--drain", "2s"]);
    await using b = await startWsEmit([]);
    const proxy = await startProxy(Number(new URL(a.url).port));
    try {
      // A long backoff: only the drain's prompt reconnect (0–1 s) gets it back within the test.
      const cp = await clientPage(proxy.url, { minDelay: 60_000, maxDelay: 60_000 }, true);
      await cp.page.evaluate(() => (globalThis as any).c.join("room1"));
      await cp.waitFor(`${joinedCount("room1")} === 1`);
      expect((await emit(a.url, { event: "update", room: "room1", data: "from a" })).body.delivered).toBe(1);
      proxy.target = Number(new URL(b.url).port);
      a.proc.kill("SIGTERM");
      await cp.waitFor(`${joinedCount("room1")} === 2`);
      expect((await emit(b.url, { event: "update", room: "room1", data: "from b" })).body.delivered).toBe(1);
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 2`);
      expect(updates(await cp.log()).map((u) => u.data)).toEqual(["from a", "from b"]);
      expect(await a.proc.exited).toBe(0);
      expect(cp.problems).toEqual([]);
      await cp.page.close();
    } finally {
      await proxy.close();
    }
  });

  test("with upgrades refused by a proxy it runs over SSE, and goes back to WebSocket once they pass", { timeout: 40_000 }, async () => {
    await using srv = await startWsEmit([]);
    const proxy = await startProxy(Number(new URL(srv.url).port), { blockUpgrades: true });
    try {
      const cp = await clientPage(proxy.url, { wsRetry: 500 }, true);
      await cp.page.evaluate(() => (globalThis as any).c.join("r"));
      await cp.waitFor(`${joinedCount("r")} === 1`);
      expect(await cp.page.evaluate(() => (globalThis as any).c.transport)).toBe("sse");
      expect(proxy.refused).toBeGreaterThanOrEqual(1);
      expect((await emit(srv.url, { event: "update", room: "r", data: "over sse" })).body.delivered).toBe(1);
      await cp.waitFor(`window.log.some(e => e.k === "update")`);

      proxy.blockUpgrades = false;
      await cp.waitFor(`window.c.transport === "ws" && ${joinedCount("r")} === 2`);
      // Exactly one subscriber in the end: the SSE stream was closed when WebSocket took over.
      const byTransport = async (): Promise<Record<string, number>> => ((await (await fetch(`${srv.url}/stats`)).json()) as any).connections_by_transport;
      await until(async () => (await byTransport()).sse === 0, "the SSE stream to close");
      expect(await byTransport()).toMatchObject({ native: 1, sse: 0 });
      expect((await emit(srv.url, { event: "update", room: "r", data: "over ws" })).body.delivered).toBe(1);
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 2`);
      expect(updates(await cp.log()).map((u) => u.data)).toEqual(["over sse", "over ws"]);
      expect((await cp.log()).filter((e) => e.k === "state").map((e) => e.v)).toEqual(["open"]);
      expect(cp.problems).toEqual([]);
      await cp.page.close();
    } finally {
      await proxy.close();
    }
  });

  test("over SSE, a dropped stream reopened by the client resumes from its last event id (--sse-history)", { timeout: 40_000 }, async () => {
    await using srv = await startWsEmit(["--sse-history", "100"]);
    const proxy = await startProxy(Number(new URL(srv.url).port));
    try {
      const cp = await clientPage(proxy.url, { transport: "sse", minDelay: 200, maxDelay: 1000 }, true);
      await cp.page.evaluate(() => (globalThis as any).c.join("r"));
      await cp.waitFor(`${joinedCount("r")} === 1`);
      expect((await emit(srv.url, { event: "update", room: "r", data: 1 })).body.delivered).toBe(1);
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 1`);
      // The network drops; an event is emitted while the page is away.
      await dropNetwork(cp, proxy, srv.url);
      expect((await emit(srv.url, { event: "update", room: "r", data: 2 })).body.delivered).toBe(0);
      proxy.down = false;
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 2`);
      const got = (await cp.log()).filter((e) => e.k === "update");
      expect(got.map((e) => e.v)).toEqual([1, 2]);
      // Events carry the server's ids (meta.id), which the client sent back as lastEventId.
      expect(got.every((e) => typeof e.m.id === "string")).toBe(true);
      expect(cp.problems).toEqual([]);
      await cp.page.close();
    } finally {
      await proxy.close();
    }
  });

  test("over WebSocket with --history, a dropped connection resumes from each room's last id: the missed event once, in order", { timeout: 40_000 }, async () => {
    await using srv = await startWsEmit(["--history", "100"]);
    const proxy = await startProxy(Number(new URL(srv.url).port));
    try {
      const cp = await clientPage(proxy.url, { transport: "ws", minDelay: 200, maxDelay: 1000 }, true);
      await cp.page.evaluate(() => (globalThis as any).c.join("r"));
      await cp.waitFor(`${joinedCount("r")} === 1`);
      expect((await emit(srv.url, { event: "update", room: "r", data: 1 })).body.delivered).toBe(1);
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 1`);
      await dropNetwork(cp, proxy, srv.url);
      // Emitted while the client is away: only history can bring these back.
      for (const n of [2, 3]) expect((await emit(srv.url, { event: "update", room: "r", data: n })).body.delivered).toBe(0);
      proxy.down = false;
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 3`);
      expect((await emit(srv.url, { event: "update", room: "r", data: 4 })).body.delivered).toBe(1);
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 4`);
      const got = (await cp.log()).filter((e) => e.k === "update");
      expect(got.map((e) => e.v)).toEqual([1, 2, 3, 4]);
      expect(new Set(got.map((e) => e.m.id)).size).toBe(4);
      expect((await cp.log()).some((e) => e.k === "gap")).toBe(false);
      expect(cp.problems).toEqual([]);
      await cp.page.close();
    } finally {
      await proxy.close();
    }
  });

  test("with --history, a room that got no event before the drop still resumes from the join's position", { timeout: 40_000 }, async () => {
    await using srv = await startWsEmit(["--history", "100"]);
    const proxy = await startProxy(Number(new URL(srv.url).port));
    try {
      const cp = await clientPage(proxy.url, { transport: "ws", minDelay: 200, maxDelay: 1000 }, true);
      await cp.page.evaluate(() => (globalThis as any).c.join("quiet"));
      await cp.waitFor(`${joinedCount("quiet")} === 1`);
      await dropNetwork(cp, proxy, srv.url);
      expect((await emit(srv.url, { event: "update", room: "quiet", data: "while away" })).body.delivered).toBe(0);
      proxy.down = false;
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 1`);
      expect(updates(await cp.log())).toEqual([{ data: "while away", room: "quiet" }]);
      expect(cp.problems).toEqual([]);
      await cp.page.close();
    } finally {
      await proxy.close();
    }
  });

  test("after a restart that lost the in-memory history, re-joining reports a gap instead of a silent hole", { timeout: 40_000 }, async () => {
    const port = await freePort();
    const args = ["--address", `127.0.0.1:${port}`, "--history", "100"];
    let srv: Started = await startWsEmit(args);
    try {
      const cp = await clientPage(srv.url, { transport: "ws", minDelay: 100, maxDelay: 1000 }, true);
      await cp.page.evaluate(() => (globalThis as any).c.join("r"));
      await cp.waitFor(`${joinedCount("r")} === 1`);
      await emit(srv.url, { event: "update", room: "r", data: 1 });
      await cp.waitFor(`window.log.filter(e => e.k === "update").length === 1`);
      await srv.stop("SIGKILL");
      await cp.waitFor(`window.c.state === "reconnecting"`);
      srv = await startWsEmit(args);
      await cp.waitFor(`window.log.some(e => e.k === "gap" && e.v.room === "r")`);
      await cp.waitFor(`${joinedCount("r")} === 2`);
      expect(cp.problems).toEqual([]);
      await cp.page.close();
    } finally {
      await srv.stop();
    }
  });

  test("a join the server cannot check (Redis down) is an error event, and is asked again until it works", { timeout: 40_000 }, async () => {
    // An append-only file: the secret is still there when Redis comes back.
    await using redis = await startRedis(["--appendonly", "yes"]);
    await using srv = await startWsEmit(["--redis", redis.url]);
    await srv.waitForLine(/redis commands ready/);
    await redisCli(redis.port, "SET", "ws-emit::secret::vault", "V");
    const cp = await clientPage(srv.url, { transport: "ws", minDelay: 100 }, true);
    await cp.waitFor(`window.c.state === "open"`);
    await redis.stop();
    await cp.page.evaluate(() => (globalThis as any).c.join("vault::a", { secret: "V" }));
    await cp.waitFor(`window.log.some(e => e.k === "error" && e.v.code === "unavailable")`);
    expect(await cp.page.evaluate(() => (globalThis as any).c.rooms())).toEqual(["vault::a"]);
    await redis.restart();
    await cp.waitFor(`${joinedCount("vault::a")} === 1`);
    expect((await emit(srv.url, { event: "update", room: "vault::a", data: "in" })).body.delivered).toBe(1);
    await cp.waitFor(`window.log.some(e => e.k === "update")`);
    expect(cp.problems).toEqual([]);
    await cp.page.close();
  });
});
