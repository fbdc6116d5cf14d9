import { describe, expect, test } from "bun:test";
import { serverAndBrowser } from "../helpers/browser.ts";
import { emit } from "../helpers/server.ts";

const fx = serverAndBrowser(["--roomspace-secret", "dir=S3cret"]);

describe("built-in page (native WebSocket) in Chromium", () => {
  test("joins from the URL and shows an emitted event", async () => {
    const page = await fx.browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
    await page.goto(`${fx.srv.url}/?room=time`);
    await page.waitForSelector("#status.ok");
    expect(await page.textContent("#status")).toContain("joined time");
    expect((await emit(fx.srv.url, { event: "update", room: "time", data: { time: 1639178370 } })).body.delivered).toBe(1);
    const li = await page.waitForSelector('li.event[data-event="update"]');
    expect(await li.textContent()).toContain('{"time":1639178370}');
    // A clean console: no failed request (the browser's automatic /favicon.ico included).
    await page.reload();
    await page.waitForSelector("#status.ok");
    expect(problems).toEqual([]);
    await page.close();
  });

  test("private room through the form: wrong secret shows the error, right one joins", async () => {
    const page = await fx.browser.newPage();
    await page.goto(`${fx.srv.url}/`);
    await page.fill("#room", "dir::a.txt");
    await page.fill("#secret", "wrong");
    await page.click("#connect");
    await page.waitForSelector("#status.bad");
    expect(await page.textContent("#status")).toContain("forbidden");
    await page.fill("#secret", "S3cret");
    await page.click("#connect");
    await page.waitForSelector("#status.ok");
    await emit(fx.srv.url, { event: "changed", room: "dir::a.txt", data: "aaa2" });
    const li = await page.waitForSelector('li.event[data-event="changed"]');
    expect(await li.textContent()).toContain('"aaa2"');
    await page.close();
  });
});
