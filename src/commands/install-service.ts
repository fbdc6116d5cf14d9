/**
 * `ws-emit install-service`: install this binary as a systemd service, from inside the binary
 * (the unit and the /etc/default seed are embedded). Same steps as contrib/install.sh:
 *   binary → PREFIX/bin/ws-emit (atomic replace, so a running service can be upgraded)
 *   /etc/default/ws-emit (only when missing: never overwrite an operator's settings)
 *   /etc/systemd/system/ws-emit.service, then systemctl daemon-reload, enable, restart.
 * DESTDIR (or --destdir) installs into a staging root and skips systemctl.
 */
import { defineCommand } from "citty";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import envSeed from "../../contrib/ws-emit.default" with { type: "text" };
import unitTemplate from "../../contrib/ws-emit.service" with { type: "text" };

export interface InstallPlan {
  destdir: string;
  prefix: string;
  binary: string;
  dryRun: boolean;
  start: boolean;
}

/** The unit with ExecStart pointing at PREFIX/bin/ws-emit. */
export function unitFor(prefix: string): string {
  return unitTemplate.replace(/^ExecStart=\/usr\/local\/bin\/ws-emit/m, `ExecStart=${join(prefix, "bin/ws-emit")}`);
}

const same = (a: string, b: string) => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
};

/** Run (or, dry, describe) the install; returns the lines to print. Throws with a clear message. */
export async function install(plan: InstallPlan, run: (cmd: string[]) => Promise<number> = runCommand): Promise<string[]> {
  const out: string[] = [];
  const root = (p: string) => (plan.destdir ? join(plan.destdir, p) : p);
  const act = (what: string, fn: () => void) => {
    out.push(plan.dryRun ? `would ${what}` : what);
    if (!plan.dryRun) fn();
  };

  const binTarget = root(join(plan.prefix, "bin/ws-emit"));
  if (!existsSync(plan.binary)) throw new Error(`--binary ${plan.binary} does not exist`);
  if (same(plan.binary, binTarget)) out.push(`${binTarget} is already this binary`);
  else
    act(`install ${plan.binary} → ${binTarget}`, () => {
      mkdirSync(dirname(binTarget), { recursive: true });
      // Copy beside the target and rename: replacing a running executable in place fails (ETXTBSY).
      const tmp = `${binTarget}.new.${process.pid}`;
      copyFileSync(plan.binary, tmp);
      chmodSync(tmp, 0o755);
      renameSync(tmp, binTarget);
    });

  const envFile = root("/etc/default/ws-emit");
  if (existsSync(envFile)) out.push(`${envFile} exists: kept as it is`);
  else
    act(`write ${envFile} (edit it, then restart the service)`, () => {
      mkdirSync(dirname(envFile), { recursive: true });
      // It will hold SECRET: readable by root only (systemd reads it as root).
      writeFileSync(envFile, envSeed, { mode: 0o600 });
    });

  const unitFile = root("/etc/systemd/system/ws-emit.service");
  const unit = unitFor(plan.prefix);
  if (existsSync(unitFile) && readFileSync(unitFile, "utf8") === unit) out.push(`${unitFile} is up to date`);
  else
    act(`write ${unitFile}`, () => {
      mkdirSync(dirname(unitFile), { recursive: true });
      writeFileSync(unitFile, unit, { mode: 0o644 });
    });

  const skip = plan.destdir ? `DESTDIR is set (${plan.destdir})` : !existsSync("/run/systemd/system") ? "systemd is not running on this machine" : null;
  if (skip) {
    out.push(`not running systemctl: ${skip}`);
    return out;
  }
  const steps = [["daemon-reload"], ["enable", "ws-emit.service"], ...(plan.start ? [["restart", "ws-emit.service"]] : [])];
  for (const s of steps) {
    const cmd = ["systemctl", ...s];
    if (plan.dryRun) out.push(`would run ${cmd.join(" ")}`);
    else {
      out.push(`run ${cmd.join(" ")}`);
      const code = await run(cmd);
      if (code !== 0) throw new Error(`${cmd.join(" ")} failed with exit code ${code}`);
    }
  }
  if (plan.start && !plan.dryRun) out.push("started: journalctl -u ws-emit -f shows the log");
  return out;
}

async function runCommand(cmd: string[]): Promise<number> {
  return Bun.spawn(cmd, { stdout: "inherit", stderr: "inherit" }).exited;
}

export default defineCommand({
  meta: { name: "install-service", description: "Install this binary as a systemd service (binary, /etc/default/ws-emit, unit; then enable and start it)." },
  args: {
    binary: { type: "string", description: "binary to install (default: this executable)", valueHint: "PATH" },
    prefix: { type: "string", description: "install prefix (default /usr/local)", valueHint: "DIR" },
    destdir: { type: "string", description: "staging root; skips systemctl (env DESTDIR)", valueHint: "DIR" },
    "dry-run": { type: "boolean", description: "print what would be done, change nothing" },
    start: { type: "boolean", description: "(re)start the service after enabling it (--no-start: only enable)", negativeDescription: "enable but do not (re)start the service" },
  },
  async run({ args }) {
    // From source, process.execPath is the bun runtime, not ws-emit: a binary must be named.
    const self = process.execPath.endsWith("/bun") || process.execPath.endsWith("/bun.exe") ? null : process.execPath;
    const binary = args.binary ?? self;
    if (!binary) {
      process.stderr.write("ws-emit install-service: running from source: pass --binary dist/ws-emit (build it with npm run build)\n");
      process.exit(2);
    }
    const destdir = args.destdir ?? process.env.DESTDIR ?? "";
    const prefix = args.prefix ?? "/usr/local";
    if (!prefix.startsWith("/")) {
      process.stderr.write(`ws-emit install-service: --prefix must be an absolute path, got "${prefix}"\n`);
      process.exit(2);
    }
    if (!destdir && !args["dry-run"] && process.getuid?.() !== 0) {
      process.stderr.write("ws-emit install-service: needs root (sudo), or DESTDIR=… / --dry-run\n");
      process.exit(2);
    }
    try {
      const lines = await install({ destdir: destdir ? resolve(destdir) : "", prefix, binary: resolve(binary), dryRun: !!args["dry-run"], start: args.start !== false });
      for (const l of lines) process.stdout.write(`${l}\n`);
    } catch (e) {
      process.stderr.write(`ws-emit install-service: ${(e as Error).message}\n`);
      process.exit(1);
    }
  },
});
