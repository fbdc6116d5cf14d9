/**
 * --help text: the top level (commands and the common flags) and `serve --help` (every setting,
 * grouped, with its default and environment names), wrapped to 100 columns, no trailing spaces.
 * Built from the settings table in core/config.ts, so a new setting shows up by itself (in
 * "Other" until it is given a group here).
 */
import { defaults, SETTINGS } from "../core/config.ts";
import { VERSION } from "../core/version.ts";

export const WIDTH = 100;
const COL = 30;

const GROUPS: Array<[string, string[]]> = [
  ["Listening and browsers", ["address", "cors", "secret", "tls-cert", "tls-key", "metrics-address", "metrics-secret"]],
  ["Redis and clusters", ["redis", "cluster", "redis-prefix", "secret-prefix", "roomspace-secret", "redis-channel", "redis-json-channel", "redis-shards", "redis-timeout", "redis-canary", "redis-canary-timeout", "secret-cache", "stats-interval"]],
  ["Limits", ["max-connections", "max-connection-rate", "connection-rate-exempt", "max-rooms", "max-body", "max-message", "max-buffer", "heartbeat", "max-join-failures", "max-bad-frames"]],
  ["Socket.IO and SSE", ["sio-ping-interval", "sio-ping-timeout", "sio-max-http-buffer", "sse-history"]],
  ["wsify and wspush compatibility", ["wsify-key", "wsify-ping", "authorizer-url", "authorizer-timeout", "authorizer-cache", "wspush-key", "wspush-prefix", "wspush-max-per-token"]],
  ["Process and logs", ["config", "workers", "drain", "pid-file", "log-level", "log-format"]],
];
/** What the top-level help shows of `serve`. */
const COMMON = ["address", "cors", "secret", "redis", "cluster", "config", "log-format"];

/** Words wrapped to `width`, every line after the first indented by `indent`. */
export function wrap(text: string, width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + w.length > width - indent) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** "  --flag" and its text in a second column, wrapped. */
function entry(left: string, text: string): string[] {
  const body = wrap(text, WIDTH, COL);
  const pad = " ".repeat(COL);
  const first = left.length <= COL - 2 ? [`${left.padEnd(COL)}${body[0] ?? ""}`.trimEnd()] : [left, `${pad}${body[0] ?? ""}`];
  return [...first, ...body.slice(1).map((l) => pad + l)];
}

/** A setting's default as a user would write it. */
export function showDefault(key: string): string {
  const d = defaults() as unknown as Record<string, unknown>;
  if (key === "host") return `${d.host}:${d.port}`;
  const v = d[key];
  if (key === "connectionRate") {
    const r = v as { perSecond: number; burst: number } | null;
    return r ? `${r.perSecond}/s,burst=${r.burst}` : "off";
  }
  if (v === null || v === undefined || v === false) return "unset";
  if (v instanceof Map) return "none";
  if (Array.isArray(v)) return v.join(" ");
  if (key.endsWith("Ms")) return `${Number(v) / 1000}s`;
  if (key.endsWith("Bytes")) return Number(v) >= 1024 * 1024 ? `${Number(v) / 1024 / 1024}m` : `${Number(v) / 1024}k`;
  return String(v);
}

function flagLines(flag: string): string[] {
  if (flag === "config") return entry("  --config FILE", 'file of KEY="value" lines, as /etc/default/ws-emit. env: WS_EMIT_CONFIG');
  const s = SETTINGS.find((x) => x.flag === flag);
  if (!s) return [];
  const alias = flag === "address" ? "-a, " : "";
  const pad = " ".repeat(COL);
  const facts = wrap(`default ${showDefault(s.key)} · env ${s.env.join(", ")}`, WIDTH, COL).map((l) => pad + l);
  return [...entry(`  ${alias}--${flag}`, s.help), ...facts];
}

export function serveHelp(): string {
  const out = [`ws-emit ${VERSION}: run the server (the default command).`, "", "Usage: ws-emit [serve] [FLAGS]", ""];
  out.push(...wrap("Every flag also comes from its environment variable or the same name in a --config file; flags win over the environment, which wins over the file. Sizes take k/m (64k, 1m), durations ms/s/m (500ms, 25s).", WIDTH, 0));
  const placed = new Set<string>(["config"]);
  for (const [title, flags] of GROUPS) {
    out.push("", `${title}:`);
    for (const f of flags) {
      out.push(...flagLines(f));
      placed.add(f);
    }
  }
  const rest = SETTINGS.map((s) => s.flag).filter((f) => !placed.has(f));
  if (rest.length) {
    out.push("", "Other:");
    for (const f of rest) out.push(...flagLines(f));
  }
  out.push("", "Reference: docs/configuration.md; problems: docs/troubleshooting.md");
  return out.join("\n");
}

export function topHelp(): string {
  const out = [`ws-emit ${VERSION}: push events from any backend to browsers (WebSocket, Socket.IO, SSE).`, "", "Usage:"];
  const cmds: Array<[string, string]> = [
    ["ws-emit [serve] [FLAGS]", "run the server (the default command)"],
    ["ws-emit emit EVENT [DATA]", "send one event through a running ws-emit"],
    ["ws-emit token --room R", "print a signed token for private rooms"],
    ["ws-emit install-service", "install this binary as a systemd service"],
  ];
  for (const [c, d] of cmds) out.push(...entry(`  ${c}`, d));
  out.push("", `Common flags (ws-emit serve --help lists all ${SETTINGS.length + 1}, grouped, with defaults):`);
  for (const f of COMMON) out.push(...flagLines(f));
  out.push("", "  -h, --help                show help (ws-emit COMMAND --help for a command)", "  -v, --version             print the version");
  out.push("", "Docs: README.md and docs/ (configuration, protocols, operations, troubleshooting)");
  return out.join("\n");
}

/** A subcommand's help from its citty definition (citty's own pads lines past 100 columns). */
export interface SubcommandDef {
  meta?: { name?: string; description?: string };
  args?: Record<string, { type?: string; description?: string; valueHint?: string; alias?: string | string[] }>;
}
export function commandHelp(cmd: SubcommandDef): string {
  const name = cmd.meta?.name ?? "";
  const args = Object.entries(cmd.args ?? {});
  const positionals = args.filter(([, a]) => a.type === "positional");
  const flags = args.filter(([, a]) => a.type !== "positional");
  const out = [...wrap(`ws-emit ${name}: ${cmd.meta?.description ?? ""}`, WIDTH, 0), ""];
  out.push(`Usage: ws-emit ${name}${flags.length ? " [FLAGS]" : ""}${positionals.map(([n]) => ` [${n.toUpperCase()}]`).join("")}`);
  if (positionals.length) {
    out.push("", "Arguments:");
    for (const [n, a] of positionals) out.push(...entry(`  ${n.toUpperCase()}`, a.description ?? ""));
  }
  if (flags.length) {
    out.push("", "Flags:");
    for (const [n, a] of flags) out.push(...entry(`  --${n}${a.type === "boolean" ? "" : ` ${a.valueHint ?? "VALUE"}`}`, a.description ?? ""));
  }
  return out.join("\n");
}
