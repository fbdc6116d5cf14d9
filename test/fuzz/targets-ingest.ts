/** Fuzz targets for what backends and Redis send: emit bodies, pickles, emitter msgpack, fan-out messages, config files, Redis URLs. */
import fc from "fast-check";
import { encode as msgpack } from "notepack.io";
import { parseEnvFile, resolveConfig } from "../../src/core/config.ts";
import { redact } from "../../src/core/redis-url.ts";
import { decodeFanout, encodeCanary, encodeEmit } from "../../src/engine/fanout-codec.ts";
import { MAX_BATCH, parseEmit } from "../../src/ingest/emit-request.ts";
import { parseEmitterMessage } from "../../src/ingest/emitter.ts";
import { decodePickle, PICKLE_DEFAULTS } from "../../src/ingest/pickle.ts";
import { boundsError } from "../../src/ingest/pickle-bounds.ts";
import { parseSocketioQueueMessage } from "../../src/ingest/socketio-queue.ts";
import { mutatedBytes, mutatedJson, mutatedText } from "./mutators.ts";
import { PICKLE_SEEDS_B64 } from "./pickle-seeds.ts";
import { DOOR_DEPTH, depthLimitAtDoor, depthOver, emitViolation, type Target } from "./target.ts";

// ---- emit bodies ---------------------------------------------------------------------------

const emitSeeds: unknown[] = [
  { event: "update", room: "time", data: { time: 1 } },
  { event: "e", rooms: ["a", "dir::b"], except: ["c"], args: [1, "two", { three: [3] }], namespace: "/chat" },
  { event: "x", data: null, namespace: null, secret: "s" },
  [{ event: "a" }, { event: "b", room: "r" }],
];

/** POST /emit and the Redis JSON channel: JSON text → one emit or a batch → parseEmit each. */
export const emitBody: Target<string> = {
  name: "emit body (POST /emit, Redis JSON channel)",
  source: "src/ingest/emit-request.ts",
  arb: mutatedText(emitSeeds.map((s) => JSON.stringify(s)), emitSeeds),
  run(text) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return null;
    }
    const items = Array.isArray(body) ? body : [body];
    if (Array.isArray(body) && (body.length === 0 || body.length > MAX_BATCH)) return null;
    for (const item of items) {
      const p = parseEmit(item);
      if (p.ok) {
        const v = emitViolation(p.value);
        if (v) return v;
      } else if (typeof p.error !== "string" || p.error.length > 2000) return "error message missing or unbounded";
    }
    return null;
  },
};

// ---- Redis ingest ---------------------------------------------------------------------------

const pickleSeeds = PICKLE_SEEDS_B64.map((b) => new Uint8Array(Buffer.from(b, "base64")));
const PICKLE_LIMITS = { maxBytes: 1024 * 1024, maxDepth: PICKLE_DEFAULTS.maxDepth, maxItems: PICKLE_DEFAULTS.maxItems };

export const pickle: Target<Uint8Array> = {
  name: "pickle (python-socketio / Flask-SocketIO queue)",
  source: "src/ingest/pickle.ts, src/ingest/socketio-queue.ts",
  arb: mutatedBytes(pickleSeeds),
  run(bytes) {
    const d = decodePickle(bytes, PICKLE_LIMITS);
    if (d.ok && boundsError(d.value, PICKLE_LIMITS) !== null) return `a decoded value breaks the bounds: ${boundsError(d.value, PICKLE_LIMITS)}`;
    const q = parseSocketioQueueMessage(bytes, PICKLE_LIMITS);
    if (q.ok && q.kind === "emit") return emitViolation(q.value);
    return null;
  },
};

const emitterSeeds = [
  msgpack(["uid1", { type: 2, data: ["update", { time: 1 }], nsp: "/" }, { rooms: ["time"], except: [], flags: {} }]),
  msgpack(["uid2", { type: 2, data: ["e", 1, "two", [3]], nsp: "/chat" }, { rooms: [], except: ["x"] }]),
  msgpack(["uid3", { type: 5, data: ["bin", Buffer.from([1, 2, 3]), { nested: Buffer.from("hi") }], nsp: "/" }, { rooms: ["a", "dir::b"] }]),
  msgpack(["uid4", { type: 0, nsp: "/" }, {}]),
].map((b) => new Uint8Array(b));

/** msgpack of a generated value; values too deep for the encoder's recursion come out as their deep-bytes form. */
function safeMsgpack(v: unknown): Uint8Array {
  try {
    return new Uint8Array(msgpack(v));
  } catch {
    return deepMsgpack(50_000);
  }
}

/** An emitter message whose one argument is `n` nested one-element arrays, written byte by byte. */
function deepMsgpack(n: number): Uint8Array {
  const marker = "@@deep@@";
  const b = Buffer.from(msgpack(["u", { type: 2, nsp: "/", data: ["ev", marker] }, {}]));
  const at = b.indexOf(Buffer.from(marker)) - 1; // the fixstr header byte
  return new Uint8Array(Buffer.concat([b.subarray(0, at), Buffer.alloc(n, 0x91), Buffer.from([0x01]), b.subarray(at + 1 + marker.length)]));
}

export const emitter: Target<Uint8Array> = {
  name: "emitter msgpack (@socket.io/redis-emitter)",
  source: "src/ingest/emitter.ts",
  arb: fc.oneof(
    { weight: 4, arbitrary: mutatedBytes(emitterSeeds) },
    { weight: 4, arbitrary: mutatedJson([["u", { type: 2, data: ["ev", 1], nsp: "/" }, { rooms: ["r"] }]]).map(safeMsgpack) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }).map(deepMsgpack) },
  ),
  run(bytes) {
    const p = parseEmitterMessage(bytes, 1024 * 1024);
    return p.ok && p.kind === "emit" ? emitViolation(p.value) : null;
  },
};

const fanoutSeeds = [
  encodeEmit("node-a", { event: "update", args: [{ time: 1 }], namespace: "/", rooms: ["time"] }),
  encodeEmit("node-b", { event: "m", args: ["raw text"], raw: "raw text", namespace: "/", rooms: null, only: ["wsify"], except: ["x"] }),
  encodeEmit("node-c", { event: "b", args: [], namespace: "/chat", rooms: ["a"], binary: { args: [{ _placeholder: true, num: 0 }], buffers: [new Uint8Array([1, 2])] } }),
  encodeCanary("node-a", 42),
];

export const fanout: Target<string> = {
  name: "fan-out message (Redis ws-emit:fanout)",
  source: "src/engine/fanout-codec.ts",
  arb: mutatedText(fanoutSeeds, fanoutSeeds.map((s) => JSON.parse(s))),
  run(text) {
    const p = decodeFanout(text);
    if (!p.ok || p.value.kind === "canary") return null;
    const m = p.value.msg;
    if (typeof m.event !== "string" || typeof m.namespace !== "string" || !Array.isArray(m.args)) return "malformed emit accepted";
    if (m.rooms !== null && !m.rooms.every((r) => typeof r === "string")) return "non-string rooms accepted";
    if (depthLimitAtDoor && depthOver(m.args, DOOR_DEPTH + 1)) return "arguments deeper than the limit accepted";
    return null;
  },
};

// ---- config files and tokens ---------------------------------------------------------------

const envSeeds = [
  '# ws-emit\nADDRESS="127.0.0.1:8898"\nCORS="http://a.example http://b.example"\nexport SECRET=\'x y\'\nREDIS=redis://localhost:6379/0 # comment\n',
  'WS_EMIT_MAX_BODY=2m\nWS_EMIT_HEARTBEAT=30s\nWS_EMIT_MAX_CONNECTION_RATE="20/s,burst=100"\nROOMSPACE_SECRETS="dir=S other=T"\n',
  'WS_EMIT_WORKERS=auto\nREDIS="redis+cluster://:p@a:7000,b:7001"\nWS_EMIT_TRUST_PROXY=loopback\nWS_EMIT_METRICS_ADDRESS=127.0.0.1:9100\n',
  'LOG_LEVEL=debug\nLOG_FORMAT=json\nWS_EMIT_SSE_HISTORY=100\nWS_EMIT_WSPUSH_KEY=c2VjcmV0\nWS_EMIT_AUTHORIZER_URL="http://u:p@127.0.0.1:1/a"\n',
];

export const configFile: Target<string> = {
  name: "config file (/etc/default/ws-emit) and settings",
  source: "src/core/config.ts",
  arb: mutatedText(envSeeds),
  run(text) {
    const f = parseEnvFile(text, "fuzz.env");
    if (!f.ok) return f.issues.every((i) => typeof i === "string") ? null : "issues not strings";
    for (const k of Object.keys(f.values)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return `bad key ${JSON.stringify(k.slice(0, 20))}`;
    const r = resolveConfig({ flags: {}, env: {}, file: f.values, fileName: "fuzz.env" });
    if (!r.ok) return null;
    const c = r.config;
    if (!Number.isInteger(c.port) || c.port < 0 || c.port > 65535) return `port ${c.port}`;
    if (!(c.maxBodyBytes >= 1024) || !(c.heartbeatMs >= 100)) return "a bound below its minimum";
    return null;
  },
};

/** redact() on Redis URLs with a password somewhere: no 4-character piece of it may remain. */
export const redisUrl: Target<[string, string, number]> = {
  name: "Redis URL redaction",
  source: "src/core/redis-url.ts",
  arb: fc.tuple(mutatedText(["redis://host:6379/0", "rediss+cluster://a:1,b:2", "redis://user@host/0?db=1"]), fc.string({ unit: "grapheme-ascii", minLength: 8, maxLength: 20 }).map((p) => `Q${p.replace(/[\s]/g, "_")}Z`), fc.nat(2)),
  run([base, pw, where]) {
    const at = base.indexOf("://");
    if (at < 0) return null;
    const url = where === 0 ? `${base.slice(0, at + 3)}:${pw}@${base.slice(at + 3)}` : where === 1 ? `${base.slice(0, at + 3)}u:${pw}@${base.slice(at + 3)}` : `${base}${base.includes("?") ? "&" : "?"}password=${pw.replace(/[&;#]/g, "_")}`;
    const r = redact(url);
    const secret = where === 2 ? pw.replace(/[&;#]/g, "_") : pw;
    // The URL's other parts may contain pieces of the password by chance: only count pieces that were not there before.
    const rest = url.replace(secret, "");
    for (let i = 0; i + 4 <= secret.length; i++) {
      const piece = secret.slice(i, i + 4);
      if (r.includes(piece) && !rest.includes(piece) && !"***".includes(piece)) return `redact left "${piece}" of the password`;
    }
    return null;
  },
};
