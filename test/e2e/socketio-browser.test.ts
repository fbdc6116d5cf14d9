/**
 * Headless Chromium with the browser build of socket.io-client served by ws-emit:
 * the seed's `time` example page (on its own origin, as on :7788), and the built-in page's
 * Socket.IO option.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { Emitter } from "@socket.io/redis-emitter";
import Redis from "ioredis";
import { startRedis } from "../helpers/redis.ts";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const SECRET = "123";

/** The seed's time example: join "time", show msg.time. Nothing ws-emit specific. */
const seedPage = (wsEmit: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>time</title>
<script src="${wsEmit}/socket.io/socket.io.min.js"></script></head>
<body><h1 id="time">waiting…</h1>
<script>
function show(t) { document.getElementById("time").textContent = t; }
var socket = io("${wsEmit}");
socket.on("connect", function () { socket.emit("join", { room: "time" }); });
socket.on("update", function (msg) { show(msg.time); });
</script></body></html>`;

describe.skipIf(!existsSync(CHROMIUM))("headless Chromium (needs /usr/bin/chromium)", () => {
  let browser: Browser;
  let pages: ReturnType<typeof Bun.serve>;
  let srv: Started;
  let wsEmitUrl = "";

  beforeAll(async () => {
    // The page lives on its own origin, which ws-emit must allow with --cors.
    pages = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(seedPage(wsEmitUrl), { headers: { "Content-Type": "text/html" } }) });
    srv = await startWsEmit(["--secret", SECRET, "--cors", `http://127.0.0.1:${pages.port}`]);
    wsEmitUrl = srv.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  });
  afterAll(async () => {
    await browser?.close();
    pages?.stop(true);
    await srv?.stop();
  });

  test("the seed's time page shows an emitted time", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${pages.port}/`);
    await page.waitForFunction("window.socket && socket.connected");
    // Page code runs as strings (this project compiles without DOM types).
    // Packets on one connection are applied in order: once this ack is back, the page's join was applied.
    await page.evaluate("new Promise((r) => socket.emit('leave', { room: 'sync' }, r))");
    const r = await emit(srv.url, { event: "update", room: "time", data: { time: 1639178370 }, secret: SECRET });
    expect(r.body.delivered).toBe(1);
    await page.waitForFunction('document.getElementById("time").textContent === "1639178370"');
    // The default client upgrades to WebSocket; a second value arrives over whatever transport it is on now.
    await page.waitForFunction('socket.io.engine.transport.name === "websocket"');
    await emit(srv.url, { event: "update", room: "time", data: { time: 1639178371 }, secret: SECRET });
    await page.waitForFunction('document.getElementById("time").textContent === "1639178371"');
    expect(errors).toEqual([]);
    await page.close();
  });

  test("the built-in page's Socket.IO option joins and shows events", async () => {
    const page = await browser.newPage();
    await page.goto(`${srv.url}/?room=lobby&transport=socketio`);
    await page.waitForFunction('/^joined lobby \\(Socket\\.IO/.test(document.getElementById("status").textContent)');
    await emit(srv.url, { event: "update", room: "lobby", data: { n: 1 }, secret: SECRET });
    await page.waitForFunction('document.querySelector("#log li.event[data-event=update]")?.textContent.includes(\'{"n":1}\') === true');
    await page.close();
  });

  test("bytes from a backend arrive as an ArrayBuffer, over WebSocket and long-polling", { timeout: 30_000 }, async () => {
    await using redis = await startRedis();
    await using node = await startWsEmit(["--redis", redis.url]);
    await node.waitForLine(/\[redis-ingest\] subscribed/);
    const page = await browser.newPage();
    await page.goto(`${node.url}/`);
    await page.addScriptTag({ url: "/socket.io/socket.io.min.js" });
    // Two clients in the page: one straight on WebSocket, one that stays on long-polling.
    await page.evaluate(`new Promise((resolve) => {
      window.got = {};
      let up = 0;
      for (const t of ["websocket", "polling"]) {
        const s = io({ transports: [t] });
        s.on("bin", (a, meta) => (window.got[t] = { isArrayBuffer: a instanceof ArrayBuffer, bytes: Array.from(new Uint8Array(a)), meta }));
        s.on("connect", () => ++up === 2 && resolve());
      }
    })`);
    const pub = new Redis(redis.url);
    pub.on("error", () => {});
    try {
      new Emitter(pub).emit("bin", Buffer.from([0, 1, 2, 253, 254, 255]), { name: "x.bin" });
      await page.waitForFunction("window.got.websocket && window.got.polling", undefined, { timeout: 10_000 });
      const want = { isArrayBuffer: true, bytes: [0, 1, 2, 253, 254, 255], meta: { name: "x.bin" } };
      expect(await page.evaluate("window.got")).toEqual({ websocket: want, polling: want });
    } finally {
      pub.disconnect();
      await page.close();
    }
  });
});
