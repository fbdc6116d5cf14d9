import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { emit, runWsEmit, startWsEmit, type Started } from "../helpers/server.ts";

let srv: Started;
let browser: Browser;
beforeAll(async () => {
  srv = await startWsEmit(["--roomspace-secret", "dir=S3cret"]);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv.stop();
});

describe("built-in page over Server-Sent Events in Chromium (its own EventSource)", () => {
  test("joins from the URL and shows emitted events of any name, and broadcasts", async () => {
    const page = await browser.newPage();
    await page.goto(`${srv.url}/?transport=sse&room=time`);
    await page.waitForSelector("#status.ok");
    expect(await page.textContent("#status")).toContain("joined time (Server-Sent Events)");
    expect((await emit(srv.url, { event: "update", room: "time", data: { time: 1639178370 } })).body.delivered).toBe(1);
    const li = await page.waitForSelector('li.event[data-event="update"]');
    expect(await li.textContent()).toContain('[time] update {"time":1639178370}');
    await emit(srv.url, { event: "announce", args: ["a", 2] });
    expect(await (await page.waitForSelector('li.event[data-event="announce"]')).textContent()).toContain('["a",2]');
    await page.close();
  });

  test("private room: a wrong secret shows the server's JSON error; a token in the URL joins", async () => {
    const page = await browser.newPage();
    await page.goto(`${srv.url}/?transport=sse&room=dir::a.txt&secret=wrong`);
    await page.waitForSelector('#status.bad:has-text("forbidden")');
    expect(await page.textContent("#status")).toContain('wrong secret for roomspace "dir"');

    const mint = await runWsEmit(["token", "--room", "dir::a.txt", "--secret", "S3cret"]);
    const token = mint.stdout.trim();
    await page.goto(`${srv.url}/?transport=sse&room=dir::a.txt&token=${token}`);
    await page.waitForSelector("#status.ok");
    await emit(srv.url, { event: "changed", room: "dir::a.txt", data: "aaa2" });
    expect(await (await page.waitForSelector('li.event[data-event="changed"]')).textContent()).toContain('"aaa2"');
    await page.close();
  });
});
