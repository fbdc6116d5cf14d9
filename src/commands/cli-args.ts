import { closest } from "../core/suggest.ts";

/**
 * citty (on node:util.parseArgs, strict: false) keeps only the last value of a repeated
 * flag and accepts unknown flags silently. We need both right (`--cors a --cors b`, and a
 * typo must be an error), so flags are collected here from the raw arguments.
 */
export type FlagScan = { ok: true; flags: Record<string, string[]>; positionals: string[] } | { ok: false; issues: string[] };

export function scanFlags(rawArgs: string[], valueFlags: Set<string>, boolFlags: Set<string> = new Set(), aliases: Record<string, string> = {}): FlagScan {
  const flags: Record<string, string[]> = {};
  const positionals: string[] = [];
  const issues: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") {
      positionals.push(...rawArgs.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    let name = (eq < 0 ? a : a.slice(0, eq)).replace(/^--?/, "");
    name = aliases[name] ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (boolFlags.has(name)) {
      (flags[name] ??= []).push(eq < 0 ? "true" : a.slice(eq + 1));
      continue;
    }
    if (!valueFlags.has(name)) {
      const near = closest(name, [...valueFlags, ...boolFlags]);
      issues.push(`unknown flag ${a.slice(0, eq < 0 ? undefined : eq)} (${near ? `did you mean --${near}?` : "see --help"})`);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < rawArgs.length && !(rawArgs[i + 1]!.startsWith("--") && rawArgs[i + 1]!.length > 2)) value = rawArgs[++i];
    if (value === undefined) {
      issues.push(`--${name} needs a value`);
      continue;
    }
    (flags[name] ??= []).push(value);
  }
  return issues.length ? { ok: false, issues } : { ok: true, flags, positionals };
}
