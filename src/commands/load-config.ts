import { readFileSync } from "node:fs";
import { FLAG_NAMES, parseEnvFile, resolveConfig, type Config } from "../core/config.ts";
import { scanFlags } from "./cli-args.ts";

/** Flags + environment + config file → Config, or print every problem and exit 2. */
export function loadConfigOrExit(rawArgs: string[]): Config {
  const issues: string[] = [];
  const scan = scanFlags(rawArgs, new Set([...FLAG_NAMES, "config"]), new Set(), { a: "address" });
  if (!scan.ok) fail(scan.issues);
  if (scan.positionals.length && scan.positionals[0] !== "serve") issues.push(`unexpected argument "${scan.positionals[0]}"`);
  const fileName = scan.flags.config?.at(-1) ?? process.env.WS_EMIT_CONFIG;
  let file: Record<string, string> | null = null;
  if (fileName) {
    let text: string | null = null;
    try {
      text = readFileSync(fileName, "utf8");
    } catch (e) {
      issues.push(`--config: cannot read ${fileName}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (text !== null) {
      const parsed = parseEnvFile(text, fileName);
      if (parsed.ok) file = parsed.values;
      else issues.push(...parsed.issues);
    }
  }
  const r = resolveConfig({ flags: scan.flags, env: process.env, file, fileName });
  if (!r.ok) issues.push(...r.issues);
  if (issues.length || !r.ok) fail(issues);
  return r.config;
}

function fail(issues: string[]): never {
  for (const i of issues) process.stderr.write(`ws-emit: ${i}\n`);
  process.stderr.write("ws-emit: invalid configuration, see ws-emit --help\n");
  process.exit(2);
}
