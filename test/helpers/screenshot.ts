/**
 * Screenshots for the docs (docs/img/*.png), made by the browser tests. Always taken (a page
 * that cannot render fails the test); written to docs/img only with WS_EMIT_SCREENSHOTS=1, so
 * a normal test run leaves the work tree clean.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { ROOT } from "./server.ts";

export async function docScreenshot(page: Page, name: string): Promise<Buffer> {
  const png = await page.screenshot({ type: "png", fullPage: false });
  if (process.env.WS_EMIT_SCREENSHOTS === "1") writeFileSync(resolve(ROOT, "docs/img", `${name}.png`), png);
  return png;
}
