/**
 * Release artifacts: every Linux target built (scripts/build.ts), one tarball per target and a
 * SHA256SUMS file over them.
 *   bun scripts/release.ts                      → dist/release/ws-emit-VERSION-TARGET.tar.gz …, SHA256SUMS
 *   bun scripts/release.ts --target linux-x64   → only that target (repeatable)
 *   --outdir DIR                                → write there instead of dist/release
 * A tarball holds the binary (ws-emit), its installer (install.sh: binary, settings, systemd
 * unit), the unit and settings file, README.md, LICENSE and CHANGELOG.md, in one directory
 * named like the tarball. Entries have fixed owners and the commit's time, so a rebuild of
 * the same commit differs only by what the compiler changes.
 */
import pkg from "../package.json" with { type: "json" };
import { copyFileSync, chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const version = process.env.WS_EMIT_VERSION ?? pkg.version;
const ALL = ["linux-x64", "linux-arm64", "linux-x64-musl", "linux-arm64-musl"];

const argv = process.argv.slice(2);
const targets: string[] = [];
let outdir = resolve(root, "dist/release");
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--target" && argv[i + 1]) targets.push(argv[++i]!);
  else if (a === "--outdir" && argv[i + 1]) outdir = resolve(argv[++i]!);
  else {
    console.error(`release: unknown argument "${a}" (use --target TARGET or --outdir DIR)`);
    process.exit(2);
  }
}
if (targets.length === 0) targets.push(...ALL);

function run(cmd: string[], cwd = root): string {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, WS_EMIT_VERSION: version } });
  const out = p.stdout.toString() + p.stderr.toString();
  if (p.exitCode !== 0) {
    console.error(`release: ${cmd.join(" ")} failed:\n${out.trim()}`);
    process.exit(1);
  }
  return out;
}

rmSync(outdir, { recursive: true, force: true });
const bins = resolve(outdir, ".bin");
mkdirSync(bins, { recursive: true });
// Every target or nothing: a release missing one would look complete.
process.stdout.write(run([process.execPath, "scripts/build.ts", "--outdir", bins, ...targets.flatMap((t) => ["--target", t])]));

const mtime = run(["git", "log", "-1", "--format=%ct"]).trim() || String(Math.floor(Date.now() / 1000));
const tarballs: string[] = [];
for (const t of targets) {
  const name = `ws-emit-${version}-${t}`;
  const dir = resolve(outdir, name);
  mkdirSync(dir);
  copyFileSync(resolve(bins, `ws-emit-${t}`), resolve(dir, "ws-emit"));
  chmodSync(resolve(dir, "ws-emit"), 0o755);
  for (const [from, to] of <Array<[string, string]>>[["contrib/install.sh", "install.sh"], ["contrib/ws-emit.service", "ws-emit.service"], ["contrib/ws-emit.default", "ws-emit.default"], ["README.md", "README.md"], ["LICENSE", "LICENSE"], ["CHANGELOG.md", "CHANGELOG.md"]])
    copyFileSync(resolve(root, from), resolve(dir, to));
  chmodSync(resolve(dir, "install.sh"), 0o755);
  const tarball = `${name}.tar.gz`;
  run(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", `--mtime=@${mtime}`, "-czf", tarball, name], outdir);
  rmSync(dir, { recursive: true });
  tarballs.push(tarball);
}
rmSync(bins, { recursive: true });

// The format `sha256sum --check` reads: "<hex>  <file>".
let sums = "";
for (const f of tarballs) sums += `${new Bun.CryptoHasher("sha256").update(await Bun.file(resolve(outdir, f)).arrayBuffer()).digest("hex")}  ${f}\n`;
writeFileSync(resolve(outdir, "SHA256SUMS"), sums);
console.log(`release ${version} in ${outdir}:`);
for (const f of readdirSync(outdir).sort()) console.log(`  ${f}`);
