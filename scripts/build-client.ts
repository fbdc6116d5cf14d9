/**
 * Build the browser client (src/client/) into src/client/dist/, which is committed and embedded
 * in the binary (served at /client.js and /client.min.js):
 *   client.js      ESM exporting connect (readable)
 *   client.min.js  minified classic script that sets window.WsEmit
 *   types.d.ts     types, emitted by tsc from the source
 *   bun scripts/build-client.ts            write them
 *   bun scripts/build-client.ts --outdir D write elsewhere (the drift test compares with the committed ones)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const src = resolve(root, "src/client");
const argv = process.argv.slice(2);
const outdir = argv[0] === "--outdir" && argv[1] ? resolve(argv[1]) : resolve(src, "dist");

async function bundle(entry: string, format: "esm" | "iife", minify: boolean): Promise<string> {
  const r = await Bun.build({ entrypoints: [resolve(src, entry)], format, minify, target: "browser" });
  if (!r.success) throw new Error(r.logs.map(String).join("\n"));
  return await r.outputs[0]!.text();
}

const esm = await bundle("index.ts", "esm", false);
const min = await bundle("global.ts", "iife", true);

// Declarations: tsc from the source, with the DOM library (the client is browser code).
const tmp = mkdtempSync(join(tmpdir(), "ws-emit-client-"));
try {
  const tsc = Bun.spawn(
    [resolve(root, "node_modules/.bin/tsc"), resolve(src, "index.ts"), "--declaration", "--emitDeclarationOnly", "--target", "es2022", "--lib", "es2022,dom", "--skipLibCheck", "--outDir", tmp],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, code] = await Promise.all([new Response(tsc.stdout).text(), tsc.exited]);
  if (code !== 0) throw new Error(`tsc failed:\n${out}`);
  const dts = readFileSync(join(tmp, "index.d.ts"), "utf8");
  const global = `\ndeclare global {\n  /** Set by client.min.js (the classic script). */\n  var WsEmit: { connect: typeof connect };\n}\n`;
  writeFileSync(join(outdir, "types.d.ts"), dts + global);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
writeFileSync(join(outdir, "client.js"), esm);
writeFileSync(join(outdir, "client.min.js"), min);
const gz = Bun.gzipSync(Buffer.from(min), { level: 9 }).length;
console.log(`client.js ${esm.length} B, client.min.js ${min.length} B (${gz} B gzipped) → ${outdir}`);
