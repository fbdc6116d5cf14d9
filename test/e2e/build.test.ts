/**
 * Release builds: the version is baked into the binary at build time, and a cross-compiled
 * binary is really for the other architecture.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, cleanEnv } from "../helpers/server.ts";

async function run(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd: ROOT, env: cleanEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: o + e };
}

describe("scripts/build.ts", () => {
  test("WS_EMIT_VERSION is baked in; --version prints it; arm64 cross build is an aarch64 ELF", async () => {
    const out = mkdtempSync(join(tmpdir(), "ws-emit-build-"));
    const b = await run([process.execPath, "scripts/build.ts", "--outdir", out, "--target", "linux-arm64"], { WS_EMIT_VERSION: "9.8.7-ops-test" });
    const v = await run([join(out, "ws-emit"), "--version"]);
    expect(v.out.trim()).toBe("9.8.7-ops-test");
    if (b.code !== 0) {
      // The host binary built; only the cross target failed. That needs Bun's aarch64 runtime
      // from the npm registry: report what happened rather than pass silently.
      expect(b.out).toContain("skipped");
      console.warn(`cross build not checked: ${b.out.trim().split("\n").at(-1)}`);
      return;
    }
    const elf = readFileSync(join(out, "ws-emit-linux-arm64")).subarray(0, 20);
    expect(elf.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    // e_machine (offset 18, little endian): 183 = EM_AARCH64.
    expect(elf.readUInt16LE(18)).toBe(183);
  }, 60_000);

  test("unknown targets are refused", async () => {
    const r = await run([process.execPath, "scripts/build.ts", "--target", "windows-x64", "--outdir", mkdtempSync(join(tmpdir(), "ws-emit-build-"))]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('unknown target "windows-x64"');
  });
});
