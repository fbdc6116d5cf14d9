/**
 * The folders are the architecture (docs/architecture.md): this keeps them honest. The pure
 * layer imports no I/O and nothing from the layers above it; the server names no protocol.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

function filesUnder(dir: string): string[] {
  return readdirSync(join(SRC, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** Value imports (not `import type`) of a file: their specifiers. */
function valueImports(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8");
  return [...text.matchAll(/^import\s+(?!type\b)[^"';]*?from\s+["']([^"']+)["']|^import\s+["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2]!);
}

test("src/core imports no I/O and nothing from server, protocols, ingest, engine, ops or commands", () => {
  const files = filesUnder("core");
  expect(files.length).toBeGreaterThan(5);
  for (const f of files) {
    for (const spec of valueImports(f)) {
      expect({ f, spec, io: /^(bun|ioredis|node:(fs|net|http|https|child_process|dgram|tls))$/.test(spec) }).toEqual({ f, spec, io: false });
      expect({ f, spec, up: /\.\.\/(server|protocols|ingest|engine|ops|commands)\//.test(spec) }).toEqual({ f, spec, up: false });
    }
  }
});

test("protocol codecs are pure: no I/O imports", () => {
  const codecs = [...filesUnder("protocols")].filter((f) => f.endsWith("codec.ts"));
  expect(codecs.length).toBeGreaterThanOrEqual(6);
  for (const f of codecs)
    for (const spec of valueImports(f)) expect({ f, spec, io: /^(bun|ioredis|node:(fs|net|http|https|child_process|dgram|tls))$/.test(spec) || /\/(server|engine|ops)\//.test(spec) }).toEqual({ f, spec, io: false });
});

test("the server is a router: it imports no protocol, ingest or ops route module", () => {
  for (const f of filesUnder("server"))
    for (const spec of valueImports(f)) expect({ f, spec, names: /\/(protocols|ingest)\/|\/ops\/(admin|routes)/.test(spec) }).toEqual({ f, spec, names: false });
});

test("every protocol folder exports its adapter from index.ts, and adapters.ts lists it", () => {
  const list = readFileSync(join(SRC, "adapters.ts"), "utf8");
  const folders = ["native", "socketio", "sse", "compat/wsify", "compat/wspush", "compat/webdis"];
  for (const p of folders) {
    const index = readFileSync(join(SRC, "protocols", p, "index.ts"), "utf8");
    expect(index).toMatch(/export (const|function) \w+(Adapter)\b/);
    expect(list).toContain(`./protocols/${p}/index.ts`);
  }
});
