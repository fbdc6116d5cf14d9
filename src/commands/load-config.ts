import { readFileSync } from "node:fs";
import { FLAG_NAMES, parseEnvFile, resolveConfig, type Config } from "../core/config.ts";
import { capLines } from "../core/suggest.ts";
import { scanFlags } from "./cli-args.ts";

/** Flags + environment + config file → Config, or print every problem and exit 2. */
export function loadConfigOrExit(rawArgs: string[]): Config {
  const issues: string[] = [];
  const scan = scanFlags(rawArgs, new Set([...FLAG_NAMES, "config"]), new Set(), { a: "address" });
  if (!scan.ok) fail(scan.issues);
  if (scan.positionals.length && scan.positionals[0] !== "serve") issues.push(`unexpected argument "${scan.positionals[0]}"`);
  const fromFlag = scan.flags.config?.at(-1);
  const fileName = fromFlag ?? process.env.WS_EMIT_CONFIG;
  const source = fromFlag !== undefined ? "--config" : "WS_EMIT_CONFIG";
  let file: Record<string, string> | null = null;
  let fileLines: Record<string, number> | undefined;
  if (fileName) {
    let text: string | null = null;
    try {
      text = readFileSync(fileName, "utf8");
    } catch (e) {
      issues.push(`${source}: cannot read ${fileName}: ${readError(e as NodeJS.ErrnoException)}`);
    }
    if (text !== null) {
      const parsed = parseEnvFile(text, fileName);
      if (parsed.ok) [file, fileLines] = [parsed.values, parsed.lines];
      else issues.push(...parsed.issues);
    }
  }
  const r = resolveConfig({ flags: scan.flags, env: process.env, file, fileName, fileLines });
  if (!r.ok) issues.push(...r.issues);
  if (issues.length || !r.ok) fail(issues);
  return r.config;
}

/** The reason in words, not an errno name. */
function readError(e: NodeJS.ErrnoException): string {
  const words: Record<string, string> = { ENOENT: "no such file", EACCES: "permission denied", EISDIR: "it is a directory", ENOTDIR: "a part of the path is not a directory" };
  return (e.code && words[e.code]) ?? e.message;
}

function fail(issues: string[]): never {
  // A file that is not a config file (--config README.md) must not print a thousand lines.
  for (const i of capLines(issues)) process.stderr.write(`ws-emit: ${i}\n`);
  process.stderr.write("ws-emit: invalid configuration, see ws-emit --help\n");
  process.exit(2);
}
