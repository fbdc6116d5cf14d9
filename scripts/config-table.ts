/** Print the README's configuration table from the SETTINGS table (keeps docs and code in step). */
import { defaults, SETTINGS } from "../src/core/config.ts";

const d = defaults() as unknown as Record<string, unknown>;
const show = (key: string): string => {
  if (key === "host") return "`0.0.0.0:8899`";
  if (key === "connectionRate") {
    const r = d[key] as { perSecond: number; burst: number } | null;
    return r ? `\`${r.perSecond}/s,burst=${r.burst}\`` : "off";
  }
  const v = d[key];
  if (v === null) return "unset";
  if (v instanceof Map) return "none";
  if (Array.isArray(v)) return v.length ? `\`${v.join(" ")}\`` : "none";
  if (key.endsWith("Ms")) return `\`${Number(v) / 1000}s\``;
  if (key.endsWith("Bytes")) return `\`${Number(v) >= 1024 * 1024 ? `${Number(v) / 1024 / 1024}m` : `${Number(v) / 1024}k`}\``;
  return `\`${String(v)}\``;
};
console.log("| flag | environment / config file | default | meaning |\n|---|---|---|---|");
for (const s of SETTINGS) console.log(`| \`--${s.flag}\` | ${s.env.map((e) => `\`${e}\``).join(", ")} | ${show(s.key)} | ${s.help.replace(/\|/g, "\\|")} |`);
