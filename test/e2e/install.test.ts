/**
 * Installing: contrib/install.sh and `ws-emit install-service` into a temporary root
 * (DESTDIR), the unit checked by systemd-analyze, the script by shellcheck, and the
 * /etc/default seed read back by ws-emit itself.
 */
import { describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { BIN, ROOT, cleanEnv, startWsEmit } from "../helpers/server.ts";

const SCRIPT = join(ROOT, "contrib/install.sh");
const UNIT = readFileSync(join(ROOT, "contrib/ws-emit.service"), "utf8");
const SEED = readFileSync(join(ROOT, "contrib/ws-emit.default"), "utf8");
const haveBin = existsSync(BIN);

async function sh(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd: ROOT, env: cleanEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: o + e };
}

describe("contrib/install.sh", () => {
  test.skipIf(!Bun.which("shellcheck"))("is shellcheck-clean (needs shellcheck)", async () => {
    const r = await sh(["shellcheck", "--shell=sh", SCRIPT]);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  });

  test.skipIf(!haveBin)("installs into DESTDIR: binary, /etc/default seed, unit; idempotent; never overwrites settings", async () => {
    const root = mkdtempSync(join(tmpdir(), "ws-emit-destdir-"));
    const first = await sh(["sh", SCRIPT, "--binary", BIN], { DESTDIR: root });
    expect(first.code).toBe(0);
    expect(first.out).toContain("not running systemctl: DESTDIR is set");
    const bin = join(root, "usr/local/bin/ws-emit");
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    const v = await sh([bin, "--version"]);
    expect(v.out.trim()).toBe(pkg.version);
    const env = join(root, "etc/default/ws-emit");
    expect(readFileSync(env, "utf8")).toBe(SEED);
    expect(statSync(env).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, "etc/systemd/system/ws-emit.service"), "utf8")).toBe(UNIT);

    // The operator edits the settings; a second run (an upgrade) keeps them and changes nothing else.
    writeFileSync(env, 'ADDRESS="127.0.0.1:8898"\nSECRET="operator-secret"\n');
    const again = await sh(["sh", SCRIPT, "--binary", BIN], { DESTDIR: root });
    expect(again.code).toBe(0);
    expect(again.out).toContain(`${env} exists: kept as it is`);
    expect(again.out).toContain("ws-emit.service is up to date");
    expect(again.out).toContain("ws-emit is up to date");
    expect(readFileSync(env, "utf8")).toBe('ADDRESS="127.0.0.1:8898"\nSECRET="operator-secret"\n');
  });

  test("bad arguments are refused with usage; --prefix must be absolute", async () => {
    const r = await sh(["sh", SCRIPT, "--frobnicate"], { DESTDIR: "/nonexistent" });
    expect(r.code).toBe(2);
    expect(r.out).toContain("unknown argument: --frobnicate");
    expect(r.out).toContain("usage:");
    const p = await sh(["sh", SCRIPT, "--prefix", "relative"], { DESTDIR: "/nonexistent" });
    expect(p.code).toBe(2);
    expect(p.out).toContain("--prefix must be an absolute path");
  });

  test.skipIf(!haveBin)("--prefix moves the binary and ExecStart together", async () => {
    const root = mkdtempSync(join(tmpdir(), "ws-emit-destdir-"));
    expect((await sh(["sh", SCRIPT, "--binary", BIN, "--prefix", "/opt/ws-emit"], { DESTDIR: root })).code).toBe(0);
    expect(existsSync(join(root, "opt/ws-emit/bin/ws-emit"))).toBe(true);
    expect(readFileSync(join(root, "etc/systemd/system/ws-emit.service"), "utf8")).toContain("\nExecStart=/opt/ws-emit/bin/ws-emit\n");
  });
  test.skipIf(!haveBin)("--destdir stages like DESTDIR", async () => {
    const root = mkdtempSync(join(tmpdir(), "ws-emit-destdir-"));
    expect((await sh(["sh", SCRIPT, "--binary", BIN, "--destdir", root])).code).toBe(0);
    expect(existsSync(join(root, "usr/local/bin/ws-emit"))).toBe(true);
    expect(existsSync(join(root, "etc/default/ws-emit"))).toBe(true);
  });
});

describe("ws-emit install-service (unit embedded in the binary)", () => {
  test.skipIf(!haveBin)("writes the same files as install.sh; --dry-run changes nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "ws-emit-destdir-"));
    const dry = await sh([BIN, "install-service", "--dry-run"], { DESTDIR: root });
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("would write");
    expect(existsSync(join(root, "etc"))).toBe(false);
    const r = await sh([BIN, "install-service"], { DESTDIR: root });
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, "etc/systemd/system/ws-emit.service"), "utf8")).toBe(UNIT);
    expect(readFileSync(join(root, "etc/default/ws-emit"), "utf8")).toBe(SEED);
    expect(readFileSync(join(root, "usr/local/bin/ws-emit")).equals(readFileSync(BIN))).toBe(true);
    // Run from the installed copy: it is already in place, and the settings are kept.
    const again = await sh([join(root, "usr/local/bin/ws-emit"), "install-service", "--destdir", root]);
    expect(again.out).toContain("is already this binary");
    expect(again.out).toContain("exists: kept as it is");
  });
});

describe("the unit and the settings seed", () => {
  test("the unit has the hardening and limits an operator expects", () => {
    const lines = new Set(UNIT.split("\n"));
    for (const l of [
      "EnvironmentFile=-/etc/default/ws-emit",
      "ExecStart=/usr/local/bin/ws-emit",
      "DynamicUser=yes",
      "Restart=on-failure",
      "LimitNOFILE=1048576",
      "NoNewPrivileges=yes",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "CapabilityBoundingSet=",
      "#AmbientCapabilities=CAP_NET_BIND_SERVICE",
      "KillSignal=SIGTERM",
    ])
      expect(lines.has(l)).toBe(true);
    // systemd must wait longer than the default drain (10 s) before SIGKILL.
    const stop = /^TimeoutStopSec=(\d+)s$/m.exec(UNIT);
    expect(Number(stop![1])).toBeGreaterThan(10);
  });

  test.skipIf(!Bun.which("systemd-analyze") || !haveBin)("systemd-analyze verify accepts the installed unit (needs systemd-analyze)", async () => {
    const root = mkdtempSync(join(tmpdir(), "ws-emit-verify-"));
    expect((await sh(["sh", SCRIPT, "--binary", BIN], { DESTDIR: root })).code).toBe(0);
    // verify --root resolves targets and executables inside the root: give it systemd's own units and kill.
    mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
    cpSync("/usr/lib/systemd/system", join(root, "usr/lib/systemd/system"), { recursive: true, dereference: false });
    mkdirSync(join(root, "bin"), { recursive: true });
    cpSync("/bin/kill", join(root, "bin/kill"));
    const ok = await sh(["systemd-analyze", "verify", `--root=${root}`, "ws-emit.service"]);
    expect(ok.out).toBe("");
    expect(ok.code).toBe(0);
    // The check can fail: a typo in a directive is reported.
    const unitPath = join(root, "etc/systemd/system/ws-emit.service");
    writeFileSync(unitPath, UNIT.replace("LimitNOFILE=1048576", "LimitNOFILE=lots"));
    const bad = await sh(["systemd-analyze", "verify", `--root=${root}`, "ws-emit.service"]);
    expect(bad.out).toContain("Failed to parse resource value, ignoring: lots");
  });

  test("ws-emit reads the /etc/default seed as its config file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-emit-seed-"));
    writeFileSync(join(dir, "ws-emit"), SEED);
    // The address is overridden (flags beat the file); CORS comes from the file.
    await using srv = await startWsEmit(["--config", join(dir, "ws-emit")]);
    expect(await srv.waitForLine(/listening on/)).toContain('"cors":["http://localhost:7788"]');
  });
});
