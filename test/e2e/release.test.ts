/**
 * npm run release: a tarball per target and SHA256SUMS that `sha256sum --check` accepts; the
 * tarball unpacks to a binary that runs and an installer that installs it (into a DESTDIR)
 * without being told where the binary is. One target here (a full release builds four).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { cleanEnv, ROOT } from "../helpers/server.ts";

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const p = Bun.spawn(cmd, { cwd, env: cleanEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: o + e };
}

describe("scripts/release.ts", () => {
  test("tarball + SHA256SUMS; verify, unpack, run, install", async () => {
    const out = mkdtempSync(join(tmpdir(), "ws-emit-release-"));
    const r = await run([process.execPath, "scripts/release.ts", "--target", "linux-x64", "--outdir", out], ROOT);
    expect(r.code).toBe(0);
    const name = `ws-emit-${pkg.version}-linux-x64`;
    expect(readdirSync(out).sort()).toEqual(["SHA256SUMS", `${name}.tar.gz`]);
    expect(readFileSync(join(out, "SHA256SUMS"), "utf8")).toMatch(new RegExp(`^[0-9a-f]{64}  ${name}\\.tar\\.gz\\n$`));
    // What the README tells a user to run.
    const check = await run(["sha256sum", "--check", "--ignore-missing", "SHA256SUMS"], out);
    expect(check.code).toBe(0);
    expect(check.out).toContain(`${name}.tar.gz: OK`);
    expect((await run(["tar", "xzf", `${name}.tar.gz`], out)).code).toBe(0);
    const dir = join(out, name);
    expect(readdirSync(dir).sort()).toEqual(["CHANGELOG.md", "LICENSE", "README.md", "install.sh", "ws-emit", "ws-emit.default", "ws-emit.service"]);
    expect((await run([join(dir, "ws-emit"), "--version"], out)).out.trim()).toBe(pkg.version);
    const root = join(out, "root");
    const inst = await run([join(dir, "install.sh")], out, { DESTDIR: root });
    expect(inst.code).toBe(0);
    expect(inst.out).toContain(`install ${dir}/ws-emit -> ${root}/usr/local/bin/ws-emit`);
    expect(existsSync(join(root, "etc/systemd/system/ws-emit.service"))).toBe(true);
    // A tampered tarball fails the check.
    await Bun.write(join(out, `${name}.tar.gz`), "not the release");
    expect((await run(["sha256sum", "--check", "SHA256SUMS"], out)).code).not.toBe(0);
  }, 180_000);
});
