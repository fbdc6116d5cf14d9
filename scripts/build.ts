/**
 * Build the single-file executable(s).
 *   bun scripts/build.ts            → dist/ws-emit (this machine)
 * The version from package.json is baked in with --define; compiled binaries must not read
 * .env or bunfig.toml from the directory they run in (a stray file would change config).
 */
import pkg from "../package.json" with { type: "json" };
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const version = process.env.WS_EMIT_VERSION ?? pkg.version;

async function build(target: string | null, outfile: string): Promise<void> {
  const args = [
    process.execPath, "build", "src/cli.ts", "--compile", "--minify", "--sourcemap", "--format=esm",
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    `--define`, `BUILD_VERSION=${JSON.stringify(version)}`,
    "--outfile", outfile,
  ];
  if (target) args.push(`--target=${target}`);
  const p = Bun.spawn(args, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error(`build failed for ${target ?? "host"}`);
}

await build(null, "dist/ws-emit");
console.log(`built dist/ws-emit ${version}`);
