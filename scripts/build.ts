/**
 * Build the single-file executable(s).
 *   bun scripts/build.ts          → dist/ws-emit (this machine; what the tests run)
 *   bun scripts/build.ts --all    → also dist/ws-emit-linux-{x64,arm64}[-musl] (release binaries)
 *   bun scripts/build.ts --target linux-arm64 [--target …]   → just those
 *   --outdir DIR   write there instead of dist/ (tests build throwaway binaries)
 * The version from package.json (or $WS_EMIT_VERSION) is baked in with --define.
 * Compiled binaries must not read .env or bunfig.toml from the directory they run in
 * (a stray file would change config). Cross targets need Bun to fetch that target's runtime
 * from the npm registry; a target that cannot be fetched is skipped with the reason.
 */
import pkg from "../package.json" with { type: "json" };
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const version = process.env.WS_EMIT_VERSION ?? pkg.version;
const RELEASE_TARGETS = ["linux-x64", "linux-arm64", "linux-x64-musl", "linux-arm64-musl"];

async function build(target: string | null, outfile: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const args = [
    process.execPath, "build", "src/cli.ts", "--compile", "--minify", "--sourcemap", "--format=esm",
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    `--define`, `BUILD_VERSION=${JSON.stringify(version)}`,
    "--outfile", outfile,
  ];
  if (target) args.push(`--target=bun-${target}`);
  const p = Bun.spawn(args, { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) return { ok: false, reason: (err || out).trim().split("\n").slice(-3).join(" | ") };
  return { ok: true };
}

const argv = process.argv.slice(2);
const targets: string[] = [];
let outdir = "dist";
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--all") targets.push(...RELEASE_TARGETS);
  else if (a === "--target" && argv[i + 1]) targets.push(argv[++i]!);
  else if (a.startsWith("--target=")) targets.push(a.slice("--target=".length));
  else if (a === "--outdir" && argv[i + 1]) outdir = argv[++i]!;
  else {
    console.error(`build: unknown argument "${a}" (use --all, --target linux-arm64 or --outdir DIR)`);
    process.exit(2);
  }
}
for (const t of targets) {
  if (!RELEASE_TARGETS.includes(t)) {
    console.error(`build: unknown target "${t}"; known: ${RELEASE_TARGETS.join(", ")}`);
    process.exit(2);
  }
}

const host = await build(null, resolve(outdir, "ws-emit"));
if (!host.ok) {
  console.error(`build failed for this machine: ${host.reason}`);
  process.exit(1);
}
console.log(`built ${outdir}/ws-emit ${version}`);

let failed = 0;
for (const t of [...new Set(targets)]) {
  const out = `${outdir}/ws-emit-${t}`;
  const r = await build(t, resolve(out));
  if (r.ok) console.log(`built ${out} ${version}`);
  else {
    failed++;
    console.warn(`skipped ${out}: ${r.reason}`);
  }
}
// Some release binaries missing is a failed release build, but only after trying them all.
if (failed) process.exit(1);
