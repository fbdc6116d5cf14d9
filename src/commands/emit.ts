import { defineCommand } from "citty";
import { scanFlags } from "./cli-args.ts";
import { eventNameError } from "../ingest/emit-request.ts";
import { parseNamespace, parseRoom } from "../core/rooms.ts";
import { deeperThan, depthError, MAX_DEPTH } from "../core/bounds.ts";
import { parseIdempotencyKey } from "../engine/idempotency.ts";

export interface EmitRequest {
  url: string;
  body: Record<string, unknown>;
  secret?: string;
  /** DATA is "-": read it from stdin. */
  dataFromStdin: boolean;
}

/** A DATA argument may be a negative number ("-1"), which is not a flag. */
const isNegativeNumber = (a: string) => /^-\d/.test(a);

/**
 * What `ws-emit emit` was asked for, checked before any request: every problem at once, each
 * naming its argument (exit 2), so a typo is never sent as a broadcast.
 */
export function emitRequest(rawArgs: string[], env: Record<string, string | undefined> = process.env): { ok: true; value: EmitRequest } | { ok: false; issues: string[] } {
  // Negative numbers are positionals: shield them from the flag scanner.
  const shielded = rawArgs.map((a) => (isNegativeNumber(a) ? `\u0000${a}` : a));
  const scan = scanFlags(shielded, new Set(["room", "except", "namespace", "url", "secret", "idempotency-key"]));
  const issues = scan.ok ? [] : [...scan.issues];
  const flags = scan.ok ? scan.flags : {};
  const positionals = scan.ok ? scan.positionals.map((p) => p.replace(/^\u0000/, "")) : [];
  const [event, dataText, ...extra] = positionals;
  if (scan.ok && event === undefined) issues.push("EVENT is required: ws-emit emit EVENT [DATA] [--room R]");
  if (event !== undefined) {
    const e = eventNameError(event);
    if (e) issues.push(`EVENT ${JSON.stringify(event.slice(0, 80))}: ${e.replace(/^"event" (is required and )?/, "")}`);
  }
  if (extra.length) issues.push(`unexpected argument ${JSON.stringify(extra[0])} (DATA is one JSON argument: quote it)`);
  const body: Record<string, unknown> = { event };
  if (dataText !== undefined && dataText !== "-") {
    try {
      body.data = JSON.parse(dataText);
      // The server refuses it too; said here, it is not a stack overflow while sending.
      if (deeperThan(body.data, MAX_DEPTH)) issues.push(depthError("DATA"));
    } catch {
      issues.push(`DATA is not valid JSON: ${dataText.slice(0, 80)}`);
    }
  }
  const rooms = flags.room ?? [];
  for (const room of rooms) {
    const r = parseRoom(room);
    if (!r.ok) issues.push(`--room ${JSON.stringify(room)}: ${r.error}`);
  }
  if (rooms.length === 1) body.room = rooms[0];
  else if (rooms.length > 1) body.rooms = rooms;
  const except = flags.except ?? [];
  for (const room of except) {
    const r = parseRoom(room);
    if (!r.ok) issues.push(`--except ${JSON.stringify(room)}: ${r.error}`);
  }
  if (except.length > 0) body.except = except;
  const namespace = flags.namespace?.at(-1);
  if (namespace !== undefined) {
    const ns = parseNamespace(namespace);
    if (!ns.ok) issues.push(`--namespace ${JSON.stringify(namespace)}: ${ns.error}`);
    body.namespace = namespace;
  }
  // history (issue 13): a retry with the same key is delivered once.
  const key = flags["idempotency-key"]?.at(-1);
  if (key !== undefined) {
    const k = parseIdempotencyKey(key);
    if (!k.ok) issues.push(`--idempotency-key: ${k.error.replace(/^"idempotency_key" /, "")}`);
    body.idempotency_key = key;
  }
  const urlFlag = flags.url?.at(-1);
  const urlText = (urlFlag ?? env.WS_EMIT_URL ?? "http://127.0.0.1:8899").replace(/\/+$/, "");
  const urlName = urlFlag !== undefined ? "--url" : env.WS_EMIT_URL !== undefined ? "WS_EMIT_URL" : "--url";
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(urlText).protocol);
  } catch {}
  if (!ok) issues.push(`${urlName}: expected the ws-emit base URL like http://127.0.0.1:8899, got ${JSON.stringify(urlText)}`);
  if (issues.length) return { ok: false, issues };
  const secret = flags.secret?.at(-1) ?? env.WS_EMIT_SECRET ?? env.SECRET;
  return { ok: true, value: { url: urlText, body, ...(secret ? { secret } : {}), dataFromStdin: dataText === "-" } };
}

/** `ws-emit emit EVENT [DATA]`: POST /emit from a shell script. */
export default defineCommand({
  meta: { name: "emit", description: "Send one event through a running ws-emit (POST /emit)." },
  args: {
    // Not `required`: citty would print the usage and exit 1; emitRequest says what is missing (exit 2).
    event: { type: "positional", description: "event name", required: false },
    data: { type: "positional", description: "JSON data (omit for none; - reads stdin)", required: false },
    room: { type: "string", description: "room (repeat for several; omit to broadcast)" },
    except: { type: "string", description: "leave out the members of this room (repeatable)" },
    namespace: { type: "string", description: "Socket.IO namespace (default /)" },
    "idempotency-key": { type: "string", description: "a retry with the same key within --idempotency-window is not delivered again" },
    url: { type: "string", description: "ws-emit base URL (env WS_EMIT_URL; default http://127.0.0.1:8899)" },
    secret: { type: "string", description: "emit secret (env SECRET / WS_EMIT_SECRET)" },
  },
  async run({ rawArgs }) {
    const r = emitRequest(rawArgs);
    if (!r.ok) {
      for (const i of r.issues) process.stderr.write(`ws-emit emit: ${i}\n`);
      process.exit(2);
    }
    const { url: base, body, secret } = r.value;
    if (r.value.dataFromStdin) {
      const text = await Bun.stdin.text();
      try {
        body.data = JSON.parse(text);
      } catch {
        process.stderr.write(`ws-emit emit: DATA (stdin) is not valid JSON: ${text.slice(0, 80)}\n`);
        process.exit(2);
      }
      if (deeperThan(body.data, MAX_DEPTH)) {
        process.stderr.write(`ws-emit emit: ${depthError("DATA (stdin)")}\n`);
        process.exit(2);
      }
    }
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (secret) headers.Authorization = `Bearer ${secret}`;
    let res: Response;
    try {
      res = await fetch(`${base}/emit`, { method: "POST", headers, body: JSON.stringify(body) });
    } catch (e) {
      const refused = /ECONNREFUSED|Unable to connect/.test(String((e as Error).message));
      const why = refused ? "nothing listens there: is ws-emit running, and is --url (or WS_EMIT_URL) its address?" : (e as Error).message;
      process.stderr.write(`ws-emit emit: cannot reach ${base}: ${why}\n`);
      process.exit(1);
    }
    const text = await res.text();
    // The server's message speaks HTTP ("send secret in the body"); a CLI user needs flags.
    if (res.status === 403 && /"error"\s*:\s*"forbidden"/.test(text) && /missing secret|wrong secret/.test(text)) {
      const why = secret ? "wrong secret (the --secret, SECRET or WS_EMIT_SECRET given)" : "missing secret: pass --secret or set SECRET (or WS_EMIT_SECRET)";
      process.stderr.write(`ws-emit emit: forbidden: ${why}\n`);
      process.exit(1);
    }
    (res.ok ? process.stdout : process.stderr).write(`${text}\n`);
    process.exit(res.ok ? 0 : 1);
  },
});
