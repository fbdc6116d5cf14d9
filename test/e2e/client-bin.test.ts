/** The compiled binary embeds the browser client and its docs (build first: `bun scripts/build.ts`; npm test does). */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BIN, ROOT, startWsEmit } from "../helpers/server.ts";

test("binary: /client.js, /client.min.js and /docs/client.md are the committed files, from inside the binary", async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run node_modules/.bin/bun scripts/build.ts first (npm test does)`);
  // Run from another directory: the files must come from inside the binary.
  await using srv = await startWsEmit([], { bin: true, cwd: "/tmp" });
  for (const [path, file, type] of [
    ["/client.js", "src/client/dist/client.js", "text/javascript"],
    ["/client.min.js", "src/client/dist/client.min.js", "text/javascript"],
    ["/docs/client.md", "docs/client.md", "text/markdown"],
  ] as const) {
    const res = await fetch(`${srv.url}${path}`);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    expect(res.headers.get("content-type")).toStartWith(type);
    expect(await res.text()).toBe(readFileSync(resolve(ROOT, file), "utf8"));
  }
  const head = await fetch(`${srv.url}/client.min.js`, { method: "HEAD" });
  expect(head.status).toBe(200);
  // Revalidation: the same ETag answers 304 without a body.
  const etag = head.headers.get("etag")!;
  expect(etag).toMatch(/^"[0-9a-z]+"$/);
  const again = await fetch(`${srv.url}/client.min.js`, { headers: { "If-None-Match": etag } });
  expect(again.status).toBe(304);
  expect(await again.text()).toBe("");
  const post = await fetch(`${srv.url}/client.js`, { method: "POST" });
  expect(post.status).toBe(405);
});
