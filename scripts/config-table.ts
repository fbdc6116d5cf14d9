/**
 * The configuration table of docs/configuration.md, from the SETTINGS table (keeps docs and code
 * in step). `bun scripts/config-table.ts` prints it; `--write` replaces it in the doc between its
 * config-table markers; test/unit/docs-config-table.test.ts fails when the doc is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { SETTINGS } from "../src/core/config.ts";
import { showDefault } from "../src/commands/help.ts";

export const DOC = resolve(import.meta.dir, "../docs/configuration.md");
const START = /<!-- config-table:[^\n]*-->\n/;
const END = "<!-- config-table: end -->";

export function configTable(): string {
  const rows = SETTINGS.map((s) => {
    const d = showDefault(s.key);
    return `| \`--${s.flag}\` | ${s.env.map((e) => `\`${e}\``).join(", ")} | ${d === "unset" || d === "none" ? d : `\`${d}\``} | ${s.help.replace(/\|/g, "\\|")} |`;
  });
  return ["| flag | environment / config file | default | meaning |", "|---|---|---|---|", ...rows].join("\n") + "\n";
}

/** The table as it stands in the doc, or null when the markers are missing. */
export function tableInDoc(text: string): string | null {
  const m = START.exec(text);
  const end = text.indexOf(END);
  if (!m || end < 0) return null;
  return text.slice(m.index + m[0].length, end);
}

if (import.meta.main) {
  if (process.argv.includes("--write")) {
    const text = readFileSync(DOC, "utf8");
    const old = tableInDoc(text);
    if (old === null) throw new Error(`no config-table markers in ${DOC}`);
    writeFileSync(DOC, text.replace(old, configTable()));
    console.log(`updated ${DOC}`);
  } else process.stdout.write(configTable());
}
