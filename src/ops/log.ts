import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import type { LogFormat, LogLevel } from "../core/config.ts";

export type Logger = ConsolaInstance;

const LEVELS: Record<LogLevel, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

/** consola has no JSON reporter: one JSON object per line, errors serialised by hand. */
const jsonReporter = (worker: number | null) => ({
  log(obj: LogObject) {
    const [first, ...rest] = obj.args;
    const line: Record<string, unknown> = { time: obj.date.toISOString(), level: obj.type, worker: worker ?? undefined, tag: obj.tag || undefined };
    line.msg = first instanceof Error ? first.message : String(first);
    for (const a of rest) {
      if (a instanceof Error) line.err = { message: a.message, stack: a.stack };
      else if (a && typeof a === "object") Object.assign(line, a);
      else if (a !== undefined) line.msg += ` ${String(a)}`;
    }
    if (first instanceof Error) line.err = { message: first.message, stack: first.stack };
    const out = obj.level < 2 ? process.stderr : process.stdout;
    out.write(`${JSON.stringify(line)}\n`);
  },
});

/** Plain lines for humans and journald: `[level] [worker N] [tag] message {fields}`. */
const prettyReporter = (worker: number | null) => ({
  log(obj: LogObject) {
    const parts = obj.args.map((a) =>
      a instanceof Error ? (a.stack ?? a.message) : a && typeof a === "object" ? JSON.stringify(a) : String(a),
    );
    const tag = (worker !== null ? ` [worker ${worker}]` : "") + (obj.tag ? ` [${obj.tag}]` : "");
    const out = obj.level < 2 ? process.stderr : process.stdout;
    out.write(`[${obj.type}]${tag} ${parts.join(" ")}\n`);
  },
});

/** `worker`: the --workers process number, on every line (null: a single process or the supervisor). */
export function createLogger(level: LogLevel, format: LogFormat, worker: number | null = null): Logger {
  return createConsola({
    level: LEVELS[level],
    // Merging repeated lines would hide reconnect storms from operators.
    throttle: 0,
    reporters: [format === "json" ? jsonReporter(worker) : prettyReporter(worker)],
  });
}
