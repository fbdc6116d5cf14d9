/**
 * The examples' pages in Chromium, each against its own backend and a real ws-emit: every page
 * shows what its backend emits, with a clean console.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { runExample } from "../helpers/example.ts";
import { freePort, startRedis } from "../helpers/redis.ts";
import { startWsEmit, until } from "../helpers/server.ts";
import { docScreenshot } from "../helpers/screenshot.ts";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function open(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
  const problems: string[] = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  await page.route("**/favicon.ico", (r) => r.fulfill({ status: 204 }));
  await page.goto(url);
  return { page, problems };
}

/** ws-emit allowing the page origin the example will serve on `port`. */
const corsFor = (port: number) => ["--cors", `http://127.0.0.1:${port}`];

describe("example pages in Chromium", () => {
  test("time: time.mjs (Node, POST /emit) reaches client.html (client library)", { timeout: 30_000 }, async () => {
    const port = await freePort();
    await using srv = await startWsEmit(corsFor(port));
    await using ex = await runExample(["node", "examples/time/time.mjs"], { WS_EMIT_URL: srv.url, PORT: String(port), HOST: "127.0.0.1" });
    const { page, problems } = await open(ex.page);
    await page.waitForFunction(`/^\\d+$/.test(document.getElementById("time").textContent)`, undefined, { timeout: 15_000 });
    expect(Math.abs(Number(await page.textContent("#time")) - Date.now() / 1000)).toBeLessThan(10);
    expect(await page.textContent("#state")).toBe("open (ws)");
    expect(problems).toEqual([]);
    await page.close();
  });

  test("dir2web: the list and an open file follow the directory; opening another file leaves the old room", { timeout: 45_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "dir2web-"));
    try {
      writeFileSync(join(dir, "a.txt"), "first");
      const port = await freePort();
      await using redis = await startRedis();
      await using srv = await startWsEmit(["--redis", redis.url, ...corsFor(port)]);
      await srv.waitForLine(/redis commands ready/);
      await using ex = await runExample(["node", "examples/dir2web/dir2web.mjs", dir], { WS_EMIT_URL: srv.url, REDIS: redis.url, PORT: String(port), HOST: "127.0.0.1" });
      const { page, problems } = await open(ex.page);
      await page.waitForSelector('#files li[data-name="a.txt"]');
      await page.waitForSelector('#state:has-text("open")');
      const stats = async () => ((await (await fetch(`${srv.url}/stats`)).json()) as any).top_rooms as Record<string, number>;
      // Joined with the secret the backend stored under ws-emit::secret::dir.
      await until(async () => (await stats())["dir::list"] === 1, "the page to join dir::list");

      writeFileSync(join(dir, "b.txt"), "bee");
      await page.waitForSelector('#files li[data-name="b.txt"]');
      await page.click('#files li[data-name="a.txt"] a');
      await page.waitForFunction(`document.getElementById("content").textContent === "first"`);
      await until(async () => (await stats())["dir::a.txt"] === 1, "the page to join dir::a.txt");
      writeFileSync(join(dir, "a.txt"), "second");
      await page.waitForFunction(`document.getElementById("content").textContent === "second"`);
      await docScreenshot(page, "dir2web");

      // Opening b.txt leaves a.txt's room (the seed's page left the wrong one).
      await page.click('#files li[data-name="b.txt"] a');
      await page.waitForFunction(`document.getElementById("content").textContent === "bee"`);
      await until(async () => (await stats())["dir::a.txt"] === undefined && (await stats())["dir::b.txt"] === 1, "a.txt left, b.txt joined");
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("progress, the blog's way: its Flask app and unchanged page over ws-emit's webdis /.json", { timeout: 45_000 }, async () => {
    const port = await freePort();
    await using redis = await startRedis();
    await using srv = await startWsEmit(["--redis", redis.url, ...corsFor(port)]);
    await srv.waitForLine(/redis commands ready/);
    await using ex = await runExample(["/usr/bin/python3", "examples/progress/blog/app.py"], {
      PORT: String(port),
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: String(redis.port),
      WS_URL: `${srv.wsUrl}/.json`,
      STEP_SECONDS: "1",
    });
    await ex.waitForLine(/Running on/);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(e.message));
    // The post's page loads jQuery from its CDN: served from Debian's copy (no network in tests).
    await page.route("https://code.jquery.com/**", (r) => r.fulfill({ path: "/usr/share/javascript/jquery/jquery.min.js", contentType: "text/javascript" }));
    // The page leaves for the "finished" page right after the last message: note every alert
    // as the page adds it (an observer installed by the test; the page's code is the post's).
    const shown: string[] = [];
    let third: () => void = () => {};
    const allThree = new Promise<void>((r) => (third = r));
    await page.exposeFunction("alertShown", (text: string) => (shown.push(text), shown.length === 3 && third()));
    await page.addInitScript(() => {
      const g = globalThis as any;
      g.addEventListener("DOMContentLoaded", () => {
        const results = g.document.getElementById("results");
        if (results) new g.MutationObserver((ms: any[]) => ms.forEach((m) => m.addedNodes.forEach((n: any) => n.classList?.contains("alert") && g.alertShown(n.textContent)))).observe(results, { childList: true });
      });
    });
    const connected = page.waitForEvent("console", (m) => m.text() === "Websocket connected.");
    await page.goto(ex.page);
    await connected;
    // Run: the form posts, the app publishes on 666 while the browser waits for its answer.
    await page.click("#run", { noWaitAfter: true });
    await allThree;
    expect(shown).toEqual([
      "You have started a server side function",
      "Function running, please wait......",
      "Function still running, almost done.......",
    ]);
    await page.waitForSelector("#finished");
    expect(problems).toEqual([]);
    await page.close();
  });

  test("progress, the ws-emit way: a job's own room joined with a token, steps then done", { timeout: 30_000 }, async () => {
    const port = await freePort();
    await using srv = await startWsEmit(["--roomspace-secret", "jobs=J0bs", ...corsFor(port)]);
    await using ex = await runExample(["node", "examples/progress/jobs.mjs"], { WS_EMIT_URL: srv.url, JOBS_SECRET: "J0bs", PORT: String(port), HOST: "127.0.0.1", STEP_MS: "100" });
    const { page, problems } = await open(ex.page);
    await page.click("#run");
    await page.waitForSelector('#result:has-text("done: ok")', { timeout: 15_000 });
    expect(await page.$$eval("#steps li", (lis) => lis.map((l) => l.textContent))).toEqual([
      "connecting to the device",
      "reading its configuration",
      "pushing the change",
      "verifying",
      "saving",
    ]);
    expect(await page.$eval("#bar", (b: any) => b.value)).toBe(100);
    await docScreenshot(page, "progress");
    expect(problems).toEqual([]);
    await page.close();
  });

  test("live-comments: another reader sees who is writing, then the new comment", { timeout: 30_000 }, async () => {
    const port = await freePort();
    await using srv = await startWsEmit(corsFor(port));
    await using ex = await runExample(["node", "examples/live-comments/comments.mjs"], { WS_EMIT_URL: srv.url, PORT: String(port), HOST: "127.0.0.1" });
    const base = ex.page.replace(/\?.*$/, "");
    const alice = await open(`${base}?user=alice`);
    const bob = await open(`${base}?user=bob`);
    const stats = async () => ((await (await fetch(`${srv.url}/stats`)).json()) as any).top_rooms as Record<string, number>;
    await until(async () => (await stats())["post-1"] === 2, "both readers in post-1");

    await alice.page.type("#text", "Nice post");
    await bob.page.waitForSelector('#typing:has-text("alice is writing…")');
    await docScreenshot(bob.page, "live-comments");
    // One's own notices are not shown.
    expect(await alice.page.textContent("#typing")).toBe("");
    await alice.page.click("#send");
    await bob.page.waitForSelector('#comments li.comment:has-text("Nice post")');
    expect(await bob.page.$$eval("#comments li.comment", (lis) => lis.map((l) => l.textContent))).toEqual(["aliceNice post"]);
    expect(await bob.page.textContent("#typing")).toBe("");
    await alice.page.waitForSelector('#comments li.comment:has-text("Nice post")');

    // A reader who arrives later gets the comments so far.
    const carol = await open(`${base}?user=carol`);
    await carol.page.waitForSelector('#comments li.comment:has-text("Nice post")');
    expect([...alice.problems, ...bob.problems, ...carol.problems]).toEqual([]);
    for (const p of [alice, bob, carol]) await p.page.close();
  });
});
