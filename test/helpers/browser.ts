/** Headless Debian Chromium through playwright-core (never a downloaded browser). */
import { afterAll, beforeAll } from "bun:test";
import { chromium, type Browser } from "playwright-core";
import { startWsEmit, type Started } from "./server.ts";

export const CHROMIUM = "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}

/**
 * A ws-emit server and a Chromium for one test file, started in beforeAll and stopped in
 * afterAll; read them as `fx.srv` and `fx.browser` inside tests.
 */
export function serverAndBrowser(args: string[]): { readonly srv: Started; readonly browser: Browser } {
  const fx = {} as { srv: Started; browser: Browser };
  beforeAll(async () => {
    fx.srv = await startWsEmit(args);
    fx.browser = await launchChromium();
  });
  afterAll(async () => {
    await fx.browser?.close();
    await fx.srv?.stop();
  });
  return fx;
}
