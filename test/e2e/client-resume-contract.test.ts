/**
 * The client's side of room-history resume, against a small stand-in for the native protocol
 * (room history is being built separately; once it lands, the same steps run against ws-emit:
 * see the report's follow-up). Checks the frames the client sends, not the server: an event's
 * "id" is remembered per room, a re-join after a drop carries "since":<that id>, and a
 * "joined" reply with "recovered":false becomes a `gap` event.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { ROOT } from "../helpers/server.ts";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

test("re-join sends since=<last id of the room>; recovered:false is a gap event", { timeout: 30_000 }, async () => {
  const clientJs = readFileSync(resolve(ROOT, "src/client/dist/client.min.js"), "utf8");
  const joins: any[] = [];
  let connections = 0;
  const server = Bun.serve<{ n: number }>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const path = new URL(req.url).pathname;
      if (path === "/ws") return srv.upgrade(req, { data: { n: ++connections } }) ? undefined : new Response("no", { status: 400 });
      if (path === "/client.min.js") return new Response(clientJs, { headers: { "Content-Type": "text/javascript" } });
      return new Response('<!doctype html><link rel="icon" href="data:,"><script src="/client.min.js"></script>', { headers: { "Content-Type": "text/html" } });
    },
    websocket: {
      message(ws, text) {
        const f = JSON.parse(String(text));
        if (f.type !== "join") return;
        joins.push(f);
        if (ws.data.n === 1) {
          ws.send(JSON.stringify({ type: "joined", room: f.room }));
          ws.send(JSON.stringify({ type: "event", room: f.room, event: "update", data: 1, id: `${f.room}-7` }));
          // A drain: the client comes back within a second.
          setTimeout(() => ws.close(1012, "restart"), 100);
        } else ws.send(JSON.stringify({ type: "joined", room: f.room, recovered: f.room !== "a" }));
      },
    },
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.evaluate(() => {
      const w = globalThis as any;
      w.log = [];
      w.c = w.WsEmit.connect(undefined, { transport: "ws", minDelay: 60_000 });
      for (const k of ["gap", "update"]) w.c.on(k, (v: unknown, m: unknown) => w.log.push({ k, v, m }));
      w.c.join("a").join("b", { secret: "s" });
    });
    await page.waitForFunction(`window.log.some(e => e.k === "gap")`, undefined, { timeout: 15_000 });
    expect(joins).toEqual([
      { type: "join", room: "a" },
      { type: "join", room: "b", secret: "s" },
      { type: "join", room: "a", since: "a-7" },
      { type: "join", room: "b", secret: "s", since: "b-7" },
    ]);
    const log = await page.evaluate(() => (globalThis as any).log);
    expect(log.filter((e: any) => e.k === "update").map((e: any) => e.m)).toEqual([
      { room: "a", id: "a-7", event: "update" },
      { room: "b", id: "b-7", event: "update" },
    ]);
    // Only "a" could not be recovered.
    expect(log.filter((e: any) => e.k === "gap").map((e: any) => e.v)).toEqual([{ room: "a" }]);
    await page.close();
  } finally {
    server.stop(true);
  }
});
