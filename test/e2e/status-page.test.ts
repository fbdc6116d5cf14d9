/**
 * The built-in status page in Chromium: its numbers, charts and room list are /stats', the
 * test-emit form (secret, JSON editor) reaches the page's own client, the event log pretty-prints
 * and copies, rooms can be left, empty states show, and the console stays clean.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { docScreenshot } from "../helpers/screenshot.ts";
import { startWsEmit, until, type Started } from "../helpers/server.ts";

const SECRET = "adm";
let browser: Browser;
let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--secret", SECRET]);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
});

async function stats(): Promise<any> {
  return (await fetch(`${srv.url}/stats`, { headers: { Authorization: `Bearer ${SECRET}` } })).json();
}

async function openPage(query: string): Promise<{ page: Page; problems: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 }, permissions: ["clipboard-read", "clipboard-write"] });
  const page = await ctx.newPage();
  const problems: string[] = [];
  // The browser logs every 4xx; unexpected ones are caught by URL below (the test sends one bad emit on purpose).
  page.on("console", (m) => m.type() === "error" && !/status of 403/.test(m.text()) && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("response", (r) => r.status() >= 400 && !r.url().endsWith("/emit") && problems.push(`${r.status()} ${r.url()}`));
  await page.goto(`${srv.url}/${query}`);
  return { page, problems };
}

/** The page's next /stats refresh, and the body it got. */
async function nextRefresh(page: Page): Promise<any> {
  const res = await page.waitForResponse((r) => new URL(r.url()).pathname === "/stats");
  const body = await res.json();
  // Rendered once the response is handled.
  await page.waitForFunction((n) => Number((globalThis as any).document.getElementById("server-section").dataset.refreshed) > n, Number(await page.getAttribute("#server-section", "data-refreshed")) - 1);
  return body;
}

describe("status page (Chromium)", () => {
  test("empty states, then numbers, charts and rooms that are /stats', a test emit, the log, copy, leave", { timeout: 45_000 }, async () => {
    const { page, problems } = await openPage(`?admin=${SECRET}`);
    // Nothing joined, nothing received yet.
    await page.waitForSelector("#charts:not([hidden])");
    expect(await page.isVisible("#log-empty")).toBe(true);
    await page.waitForSelector("#rooms-empty:not([hidden])");
    expect(await page.textContent("#version")).toBe(`v${((await (await fetch(`${srv.url}/healthz`)).json()) as any).version}`);

    // Join two rooms through the form (the client library: one connection, two rooms).
    await page.fill("#room", "time");
    await page.click("#connect");
    await page.waitForSelector('#my-rooms li[data-room="time"]');
    await page.waitForSelector('#status.ok:has-text("joined time")');
    await page.fill("#room", "news");
    await page.click("#connect");
    await page.waitForSelector('#status.ok:has-text("joined news")');
    await until(async () => (await stats()).rooms === 2, "both rooms on the server");

    // The JSON editor refuses what is not a JSON object.
    await page.fill("#emit-body", "{nope");
    expect(await page.isDisabled("#emit-send")).toBe(true);
    expect(await page.textContent("#emit-result")).toContain("not valid JSON");
    // A wrong emit secret is the server's 403.
    await page.fill("#emit-body", JSON.stringify({ event: "update", room: "news", data: { headline: "ws-emit 1.0", tags: ["a", "b"] } }));
    await page.fill("#emit-secret", "wrong");
    await page.click("#emit-send");
    await page.waitForSelector('#emit-result.bad:has-text("HTTP 403: forbidden")');
    await page.fill("#emit-secret", SECRET);
    await page.click("#emit-send");
    await page.waitForSelector('#emit-result:has-text("delivered to 1 subscriber")');

    const li = await page.waitForSelector('#log li.event[data-event="update"][data-room="news"]');
    expect(await page.isHidden("#log-empty")).toBe(true);
    const pretty = JSON.stringify({ headline: "ws-emit 1.0", tags: ["a", "b"] }, null, 2);
    expect(await li.$eval("pre", (e) => e.textContent)).toBe(pretty);
    await (await li.$("button.copy"))!.click();
    await page.waitForSelector('#log button.copy:has-text("copied")');
    expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(pretty);

    // The numbers shown are those of the /stats answer the page got, and the server's now.
    const got = await nextRefresh(page);
    const shown = async (id: string) => page.textContent(`#${id}`);
    expect(await shown("v-connections")).toBe(String(got.connections));
    expect(await shown("v-rooms")).toBe(String(got.rooms));
    expect(await shown("v-events")).toBe(String(got.rates_1m.events_in_per_s));
    expect(await shown("v-deliveries")).toBe(String(got.rates_1m.deliveries_per_s));
    const now = await stats();
    expect({ connections: got.connections, rooms: got.rooms, top: got.top_rooms }).toEqual({ connections: now.connections, rooms: now.rooms, top: now.top_rooms });
    expect(now.connections).toBe(1);
    const rows = await page.$$eval("#rooms-table tbody tr", (trs) => trs.map((tr) => [tr.children[0]!.textContent, Number(tr.children[1]!.textContent)]));
    expect(Object.fromEntries(rows)).toEqual(now.top_rooms);
    expect(now.top_rooms).toEqual({ time: 1, news: 1 });
    // Each chart has a line once it has two samples.
    await nextRefresh(page);
    for (const s of ["connections", "rooms", "events", "deliveries"])
      expect((await page.getAttribute(`.card[data-stat="${s}"] polyline`, "points"))!.split(" ").length).toBeGreaterThanOrEqual(2);
    await docScreenshot(page, "status-page");

    // Leave "news" with its chip's control: gone from the page and from the server.
    await page.click('#my-rooms li[data-room="news"] button.leave');
    await page.waitForSelector('#status:has-text("left news")');
    expect(await page.$('#my-rooms li[data-room="news"]')).toBeNull();
    await until(async () => (await stats()).top_rooms.news === undefined, "news to be left");
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test("without the secret the numbers stay hidden and the page says how to see them", { timeout: 20_000 }, async () => {
    const { page, problems } = await openPage("");
    await page.waitForSelector("#stats-locked:not([hidden])");
    expect(await page.isHidden("#charts")).toBe(true);
    expect(await page.isHidden("#rooms-panel")).toBe(true);
    // /stats answered 403 on purpose: that is not a page problem.
    expect(problems.filter((p) => !p.endsWith("/stats"))).toEqual([]);
    await page.context().close();
  });
});
