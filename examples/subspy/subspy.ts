#!/usr/bin/env bun
/**
 * subspy: print what backends publish on Redis for ws-emit, readably. The original subspy.py
 * unpickled whatever arrived (a pickle can run any code); this one decodes with ws-emit's own
 * safe decoders: Flask-SocketIO / python-socketio pickles (plain data only) and JSON on
 * flask-socketio and socketio, ws-emit's JSON channel, and @socket.io/redis-emitter's msgpack
 * on socket.io#*. Each message: one summary line, then the message as published (as JSON).
 *   bun examples/subspy/subspy.ts [redis://localhost:6379/0]
 */
import Redis from "ioredis";
import { decode } from "notepack.io";
import { decodePickle, looksLikePickle } from "../../src/ingest/pickle.ts";
import { parseSocketioQueueMessage } from "../../src/ingest/socketio-queue.ts";
import { parseEmitterMessage } from "../../src/ingest/emitter.ts";
import { parseEmit } from "../../src/ingest/emit-request.ts";
import type { EmitMessage } from "../../src/core/message.ts";

const SIO_CHANNELS = ["flask-socketio", "socketio"];
const JSON_CHANNEL = "ws-emit";
const EMITTER_PATTERN = "socket.io#*";
/** A line is cut here: a message may be megabytes (or hostile). */
const MAX_LINE = 2000;

const url = process.argv[2] ?? process.env.REDIS ?? "redis://localhost:6379/0";
const sub = new Redis(url, { lazyConnect: true });
sub.on("error", (e) => console.error(`redis: ${e.message}`));

const clip = (s: string) => (s.length > MAX_LINE ? `${s.slice(0, MAX_LINE)}… (${s.length} characters)` : s);
/** JSON of decoded data; bytes shown as <N bytes>, bounded. */
function show(v: unknown): string {
  let out: string | undefined;
  try {
    out = JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `<${x.length} bytes>` : typeof x === "bigint" ? String(x) : x));
  } catch (e) {
    return `(cannot show: ${(e as Error).message})`;
  }
  return clip(out ?? "undefined");
}

function summary(m: EmitMessage): string {
  const to = m.rooms === null ? "everyone" : `room${m.rooms.length === 1 ? "" : "s"} ${m.rooms.join(", ")}`;
  const ns = m.namespace === "/" ? "" : ` (namespace ${m.namespace})`;
  const except = m.except?.length ? ` except ${m.except.join(", ")}` : "";
  const args = m.args.length === 0 ? "(no data)" : show(m.args.length === 1 ? m.args[0] : m.args);
  return clip(`emit "${m.event}" to ${to}${except}${ns}: ${args}`);
}

/** The message as published, decoded for reading (never executed). */
function raw(payload: Buffer, kind: "sio" | "json" | "emitter"): string {
  if (kind === "emitter") {
    try {
      return show(decode(payload));
    } catch (e) {
      return `(not msgpack: ${(e as Error).message})`;
    }
  }
  if (looksLikePickle(payload)) {
    const p = decodePickle(payload);
    return p.ok ? `pickle ${show(p.value)}` : `pickle refused: ${clip(p.error)}`;
  }
  const text = payload.toString("utf8");
  try {
    return show(JSON.parse(text));
  } catch {
    return `text ${show(text)}`;
  }
}

function describe(channel: string, payload: Buffer): string {
  const kind = channel.startsWith("socket.io#") ? "emitter" : channel === JSON_CHANNEL ? "json" : "sio";
  let line: string;
  if (kind === "sio") {
    const q = parseSocketioQueueMessage(payload);
    line = !q.ok ? `not understood: ${clip(q.error)}` : q.kind === "emit" ? `${q.format}: ${summary(q.value)}` : q.kind === "session" ? `${q.method}${q.room ? ` room ${q.room}` : ""}` : `ignored ${q.method}: ${q.reason}`;
  } else if (kind === "emitter") {
    const e = parseEmitterMessage(payload);
    line = !e.ok ? `not understood: ${clip(e.error)}` : e.kind === "emit" ? `msgpack: ${summary(e.value)}` : `ignored: ${e.reason}`;
  } else {
    let x: unknown;
    try {
      x = JSON.parse(payload.toString("utf8"));
    } catch {
      x = undefined;
    }
    const p = x === undefined ? { ok: false as const, error: "not JSON" } : parseEmit(x);
    line = p.ok ? `json: ${summary(p.value)}` : `not understood: ${clip(p.error)}`;
  }
  return `[${channel}] ${line}\n  ${raw(payload, kind)}`;
}

sub.on("messageBuffer", (ch: Buffer, msg: Buffer) => console.log(describe(ch.toString(), msg)));
sub.on("pmessageBuffer", (_p: Buffer, ch: Buffer, msg: Buffer) => console.log(describe(ch.toString(), msg)));
await sub.connect();
await sub.subscribe(...SIO_CHANNELS, JSON_CHANNEL);
await sub.psubscribe(EMITTER_PATTERN);
console.log(`listening on ${[...SIO_CHANNELS, JSON_CHANNEL].join(", ")} and ${EMITTER_PATTERN} at ${url.replace(/\/\/[^@]*@/, "//…@")}`);
