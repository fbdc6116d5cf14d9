import { describe, expect, test } from "bun:test";
import { serverAndBrowser } from "../helpers/browser.ts";
import { emit, runWsEmit } from "../helpers/server.ts";

const fx = serverAndBrowser(["--roomspace-secret", "dir=S3cret"]);

describe("built-in page over Server-Sent Events in Chromium (through the client library)", () => {
  test("joins from the URL and shows emitted events of any name, and broadcasts", async () => {
    const page = await fx.browser.newPage();
    await page.goto(`${fx.srv.url}/?transport=sse&room=time`);
    await page.waitForSelector("#status.ok");
    expect(await page.textContent("#status")).toContain("joined time (Server-Sent Events)");
    expect((await emit(fx.srv.url, { event: "update", room: "time", data: { time: 1639178370 } })).body.delivered).toBe(1);
    const li = await page.waitForSelector('li.event[data-event="update"]');
    expect(await li.getAttribute("data-room")).toBe("time");
    expect(await li.textContent()).toContain('{"time":1639178370}');
    await emit(fx.srv.url, { event: "announce", args: ["a", 2] });
    expect(await (await page.waitForSelector('li.event[data-event="announce"]')).textContent()).toContain('["a",2]');
    await page.close();
  });

  test("private room: a wrong secret shows the server's JSON error; a token in the URL joins", async () => {
    const page = await fx.browser.newPage();
    await page.goto(`${fx.srv.url}/?transport=sse&room=dir::a.txt&secret=wrong`);
    await page.waitForSelector('#status.bad:has-text("forbidden")');
    expect(await page.textContent("#status")).toContain('wrong secret for roomspace "dir"');

    const mint = await runWsEmit(["token", "--room", "dir::a.txt", "--secret", "S3cret"]);
    const token = mint.stdout.trim();
    await page.goto(`${fx.srv.url}/?transport=sse&room=dir::a.txt&token=${token}`);
    await page.waitForSelector("#status.ok");
    await emit(fx.srv.url, { event: "changed", room: "dir::a.txt", data: "aaa2" });
    expect(await (await page.waitForSelector('li.event[data-event="changed"]')).textContent()).toContain('"aaa2"');
    await page.close();
  });
});
