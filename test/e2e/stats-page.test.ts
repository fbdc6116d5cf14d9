/** The built-in page shows GET /stats (and the cluster's, with Redis) to whoever may read it, and nothing to anyone else. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { startRedis } from "../helpers/redis.ts";
import { startWsEmit } from "../helpers/server.ts";

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe("server stats on the built-in page (Chromium)", () => {
  test("shown with ?admin=<secret>, counting this page's own connection; hidden without it", { timeout: 30_000 }, async () => {
    await using srv = await startWsEmit(["--secret", "adm"]);
    const page = await browser.newPage();
    await page.goto(`${srv.url}/?room=time&admin=adm`);
    await page.waitForSelector("#status.ok");
    // A successful join refreshes the numbers at once (the periodic refresh is every 5 s).
    await page.waitForFunction('/ 1 room,/.test(document.getElementById("stats-text").textContent)', undefined, { timeout: 4500 });
    const stats = await page.waitForSelector("#stats:not([hidden])");
    expect(await stats.textContent()).toMatch(/^server: 1 connection, 1 room, [\d.]+ events\/s/);

    const anon = await browser.newPage();
    await anon.goto(`${srv.url}/?room=time`);
    await anon.waitForSelector("#status.ok");
    // /stats answers 403 (a secret is set and none was given): the panel stays hidden.
    expect(await anon.evaluate("refreshStats()")).toBe(false);
    expect(await anon.isHidden("#stats")).toBe(true);
    await page.close();
    await anon.close();
  });

  test("with Redis, the line adds the cluster's name, nodes and numbers", { timeout: 30_000 }, async () => {
    await using redis = await startRedis();
    await using srv = await startWsEmit(["--redis", redis.url, "--stats-interval", "500ms", "--cluster", "dev"]);
    await srv.waitForLine(/redis commands ready/);
    const page = await browser.newPage();
    await page.goto(`${srv.url}/?room=time`);
    await page.waitForSelector("#status.ok");
    expect(await page.evaluate("refreshStats()")).toBe(true);
    const stats = await page.waitForSelector("#stats:not([hidden])");
    expect(await stats.textContent()).toMatch(/^server: 1 connection, 1 room, .*; cluster dev: 1 node \(this node [0-9a-f]{12} on \S+\), 1 connection, 1 room, [\d.]+ deliveries\/s$/);
    await page.close();
  });
});
