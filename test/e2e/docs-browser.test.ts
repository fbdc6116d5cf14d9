/**
 * The browser code in README.md and docs/ runs: every ```js and ```html block (not marked
 * `skip`) is loaded in headless Chromium from a page on its own origin (allowed by --cors),
 * pointed at a real ws-emit, and must show an emitted {"time":42} (in the console or the page)
 * once it is emitted to the rooms the samples use ("time", wsify's "hello", webdis' 666).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { emit, ROOT, startWsEmit, type Started } from "../helpers/server.ts";
import { blocksOf } from "../helpers/doc-blocks.ts";

const FILES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const blocks = FILES.flatMap((f) => blocksOf(f, readFileSync(join(ROOT, f), "utf8"))).filter((b) => (b.lang === "js" || b.lang === "html") && !b.marks.includes("skip"));

let page: ReturnType<typeof Bun.serve>;
let srv: Started;
let browser: Browser;
let current = "";

beforeAll(async () => {
  // The page's origin is this server; the sample is what it serves.
  page = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(current, { headers: { "Content-Type": "text/html; charset=utf-8" } }) });
  srv = await startWsEmit(["--redis", "none", "--cors", `http://127.0.0.1:${page.port}`]);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  page?.stop(true);
});

describe("browser samples", () => {
  for (const b of blocks) {
    test(`${b.file}:${b.line} (${b.lang}) receives an emit`, async () => {
      const hostPort = srv.url.replace(/^http:\/\//, "");
      const code = b.code.replace(/(localhost|127\.0\.0\.1):8899/g, hostPort);
      current = b.lang === "html" ? code : `<!doctype html><meta charset="utf-8"><body><script>\n${code}\n</script>`;
      const p = await browser.newPage();
      const seen: string[] = [];
      p.on("console", async (m) => seen.push(JSON.stringify(await Promise.all(m.args().map((a) => a.jsonValue().catch(() => m.text()))))));
      p.on("pageerror", (e) => seen.push(`pageerror: ${e.message}`));
      await p.goto(`http://127.0.0.1:${page.port}/`);
      // No event says "the sample's client has joined": emit, and wait a moment for it to show
      // in the page or the console; again until it does (bounded).
      const deadline = Date.now() + 15_000;
      let shown = false;
      while (!shown && Date.now() < deadline) {
        expect((await emit(srv.url, { event: "update", rooms: ["time", "hello", "666"], data: { time: 42 } })).status).toBe(200);
        await Promise.race([
          p.waitForFunction("document.body && document.body.textContent.includes(\"42\")", undefined, { timeout: 300 }).catch(() => {}),
          p.waitForEvent("console", { predicate: (m) => m.text().includes("42") || m.args().length > 0, timeout: 300 }).catch(() => {}),
        ]);
        shown = seen.some((s) => s.includes("42")) || (await p.textContent("body"))!.includes("42");
      }
      expect({ where: `${b.file}:${b.line}`, errors: seen.filter((s) => s.startsWith("pageerror")) }).toEqual({ where: `${b.file}:${b.line}`, errors: [] });
      expect({ where: `${b.file}:${b.line}`, shown }).toEqual({ where: `${b.file}:${b.line}`, shown: true });
      await p.close();
    }, 30_000);
  }
});
