/**
 * One fuzz target per parser that takes outside input: its generator (valid inputs mutated,
 * plus random) and a run that returns an invariant violation or null. A throw is a crash.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { encode as msgpack } from "notepack.io";
import { parseEnvFile, resolveConfig } from "../../src/core/config.ts";
import { parseRoom } from "../../src/core/rooms.ts";
import type { EmitMessage } from "../../src/core/message.ts";
import { decodeFanout, encodeCanary, encodeEmit } from "../../src/engine/fanout-codec.ts";
import { MAX_BATCH, MAX_EVENT_LENGTH, MAX_ROOMS_PER_EMIT, parseEmit } from "../../src/ingest/emit-request.ts";
import { parseEmitterMessage } from "../../src/ingest/emitter.ts";
import { decodePickle, PICKLE_DEFAULTS } from "../../src/ingest/pickle.ts";
import { boundsError } from "../../src/ingest/pickle-bounds.ts";
import { parseSocketioQueueMessage } from "../../src/ingest/socketio-queue.ts";
import { parseClientFrame } from "../../src/protocols/native/codec.ts";
import { parseWebdisFrame } from "../../src/protocols/compat/webdis/codec.ts";
import { parseWsifyCommand } from "../../src/protocols/compat/wsify/codec.ts";
import { checkWspushToken, decodeKey, MAX_TOKEN_LENGTH as WSPUSH_MAX, signWspushToken } from "../../src/protocols/compat/wspush/codec.ts";
import { parseClientEvent, parseEnginePacket, parseSioPacket, RECORD_SEP } from "../../src/protocols/socketio/codec.ts";
import { decodeToken, MAX_TOKEN_LENGTH, signToken, verifyToken } from "../../src/auth/token.ts";
import { localClientRefusal } from "../../src/auth/cross-site.ts";
import { clientAddress, forwardedNodes, isLoopbackIp, parseIp } from "../../src/auth/forwarded.ts";
import { redact } from "../../src/core/redis-url.ts";
import { mutatedBytes, mutatedJson, mutatedText, nest } from "./mutators.ts";
import { PICKLE_SEEDS_B64 } from "./pickle-seeds.ts";

export interface Target<T = any> {
  /** The table row: what is parsed. */
  name: string;
  /** The parser's module(s). */
  source: string;
  arb: fc.Arbitrary<T>;
  /** Run the parser on one input: an invariant violation, or null. Throwing is a crash. */
  run(input: T): string | null;
  /**
   * A fix from issue 11 made on another branch (helper "harden") that this target needs
   * before it can pass; `present()` says whether this build has it.
   */
  awaiting?: { what: string; present(): boolean };
}

/** Deepest nesting documented at the ingest doors (issue 11; src/core/bounds.ts once merged). */
export const DOOR_DEPTH = 100;

function depthOver(v: unknown, max: number, d = 0): boolean {
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) return false;
  if (d >= max) return true;
  for (const x of Object.values(v)) if (depthOver(x, max, d + 1)) return true;
  return false;
}

/** Does a crash-free probe run? (a fix is present when its issue's input no longer throws) */
const runs = (f: () => unknown) => () => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

/** Is the depth limit at the door in this build? (then ok results must respect it) */
export const depthLimitAtDoor = (() => {
  const p = parseEmit({ event: "x", data: nest(DOOR_DEPTH + 5, "array") });
  return !p.ok;
})();

/** The invariants of an accepted emit, wherever it came from. */
function emitViolation(m: EmitMessage): string | null {
  if (typeof m.event !== "string" || m.event === "" || m.event.length > MAX_EVENT_LENGTH) return `bad event ${typeof m.event}`;
  if (typeof m.namespace !== "string" || !m.namespace.startsWith("/")) return "namespace does not start with /";
  if (!Array.isArray(m.args)) return "args is not an array";
  if (m.rooms !== null) {
    if (!Array.isArray(m.rooms) || m.rooms.length === 0 || m.rooms.length > MAX_ROOMS_PER_EMIT) return "bad rooms list";
    for (const r of m.rooms) if (!parseRoom(r).ok) return "an invalid room was accepted";
  }
  if (m.except !== undefined) for (const r of m.except) if (!parseRoom(r).ok) return "an invalid except room was accepted";
  if (depthLimitAtDoor && depthOver(m.args, DOOR_DEPTH + 1)) return "arguments deeper than the door's limit were accepted";
  return null;
}

// ---- emit bodies ---------------------------------------------------------------------------

const emitSeeds: unknown[] = [
  { event: "update", room: "time", data: { time: 1 } },
  { event: "e", rooms: ["a", "dir::b"], except: ["c"], args: [1, "two", { three: [3] }], namespace: "/chat" },
  { event: "x", data: null, namespace: null, secret: "s" },
  [{ event: "a" }, { event: "b", room: "r" }],
];

/** POST /emit and the Redis JSON channel: JSON text → one emit or a batch → parseEmit each. */
const emitBody: Target<string> = {
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

// ---- WebSocket frames ----------------------------------------------------------------------

const nativeSeeds: unknown[] = [
  { type: "join", room: "time", id: 1 },
  { type: "join", room: "dir::a", secret: "S", id: "x" },
  { type: "join", room: "dir::a", token: "eyJyb29tcyI6WyJkaXI6OmEiXX0.c2ln" },
  { type: "leave", room: "time" },
  { type: "ping", id: 7 },
];

const nativeFrame: Target<string> = {
  name: "native WebSocket frame",
  source: "src/protocols/native/codec.ts",
  arb: mutatedText(nativeSeeds.map((s) => JSON.stringify(s)), nativeSeeds),
  run(text) {
    const p = parseClientFrame(text);
    if (p.ok) {
      if (!["join", "leave", "ping"].includes(p.value.type)) return "unknown type accepted";
      const id = p.value.id;
      if (id !== undefined && typeof id !== "string" && typeof id !== "number") return "id of another type accepted";
      return null;
    }
    return p.error.length > 1000 ? `error message of ${p.error.length} characters (echoes the client's value)` : null;
  },
  awaiting: {
    what: "native error frame echoes and re-serialises the client's type (issue 11: echo cap, deep nesting)",
    present: () => {
      const long = parseClientFrame(JSON.stringify({ type: "x".repeat(5000) }));
      return !long.ok && long.error.length < 1000 && runs(() => parseClientFrame(`{"type":${"[".repeat(60_000)}${"]".repeat(60_000)}}`))();
    },
  },
};

const wsifySeeds: unknown[] = [
  { command: "join", args: { channel: "hello" } },
  { command: "join", args: { channels: ["a", "dir::b"], secret: "S" } },
  { command: "leave", args: { channel: "hello" } },
  { command: "broadcast", args: { channel: "c", content: { any: ["json"] } } },
];

/** A /ws frame that is a wsify command (JSON object with "command"), as the native socket hands it over. */
const wsifyFrame: Target<string> = {
  name: "wsify WebSocket command",
  source: "src/protocols/compat/wsify/codec.ts",
  arb: mutatedText(wsifySeeds.map((s) => JSON.stringify(s)), wsifySeeds),
  run(text) {
    let x: unknown;
    try {
      x = JSON.parse(text);
    } catch {
      return null;
    }
    const p = parseWsifyCommand(x);
    if (!p.ok) return p.error.length > 1000 ? `error message of ${p.error.length} characters` : null;
    if (!["join", "leave", "broadcast"].includes(p.value.command)) return "unknown command accepted";
    if (p.value.channels.length === 0 || !p.value.channels.every((c) => typeof c === "string")) return "channels not strings";
    return null;
  },
  awaiting: { what: "wsify calls String() on a client's channel (issue 11)", present: runs(() => parseWsifyCommand({ command: "join", args: { channel: { toString: 1 } } })) },
};

const webdisSeeds: unknown[] = [["SUBSCRIBE", "hello"], ["SUBSCRIBE", 666, "dir::a"], ["UNSUBSCRIBE", "hello"], ["PING"], ["GET", "k"]];

const webdisFrame: Target<string> = {
  name: "webdis WebSocket command",
  source: "src/protocols/compat/webdis/codec.ts",
  arb: mutatedText(webdisSeeds.map((s) => JSON.stringify(s)), webdisSeeds),
  run(text) {
    const p = parseWebdisFrame(text);
    if (!p.ok) return null;
    const v = p.value;
    if ((v.cmd === "SUBSCRIBE" || v.cmd === "UNSUBSCRIBE") && !v.channels.every((c) => typeof c === "string")) return "channels not strings";
    return null;
  },
  awaiting: { what: "webdis re-serialises a client's channel value (issue 11: deep nesting)", present: runs(() => parseWebdisFrame(`["SUBSCRIBE",${"[".repeat(60_000)}${"]".repeat(60_000)}]`)) },
};

const wspushKey = decodeKey("c2VjcmV0LWtleS0xMjM0NQ")!;
const wspushTokens = [signWspushToken("Foo", wspushKey), signWspushToken("user-7", wspushKey), "Foo", "a".repeat(64)];

const wspushToken: Target<[string, boolean]> = {
  name: "wspush token (?token=)",
  source: "src/protocols/compat/wspush/codec.ts",
  arb: fc.tuple(mutatedText(wspushTokens), fc.boolean()),
  run([token, keyed]) {
    const key = keyed ? wspushKey : null;
    const p = checkWspushToken(token, key);
    if (!p.ok) return null;
    if (p.token.length > WSPUSH_MAX) return "token longer than the limit accepted";
    if (key) {
      const raw = Buffer.from(token, "base64url");
      const want = createHmac("md5", key).update(raw.subarray(0, raw.length - 16)).digest();
      if (!want.equals(raw.subarray(raw.length - 16))) return "a token with a wrong signature was accepted";
    } else if (/[\s\u0000-\u001f"\\<>]/.test(token)) return "a token with control characters was accepted";
    decodeKey(token);
    return null;
  },
};

// ---- Engine.IO / Socket.IO -----------------------------------------------------------------

const sioSeeds = [
  "0",
  '0{"token":"abc"}',
  "0/chat,",
  '2["join",{"room":"a"}]',
  '2/chat,17["join",{"room":"dir::a","secret":"s"}]',
  '2["leave",{"room":"a"}]',
  '3/chat,5[{"ok":true}]',
  "1",
  "1/chat,",
  '51-["ev",{"_placeholder":true,"num":0}]',
  '52-/chat,7["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  '61-3[{"_placeholder":true,"num":0}]',
];
const engineSeeds = ["2", "2probe", "3", "3probe", "5", "6", "1", "bAQID", ...sioSeeds.map((s) => `4${s}`)];
const pollingSeeds = [engineSeeds.slice(8, 12).join(RECORD_SEP), `40${RECORD_SEP}42["join",{"room":"a"}]`, `3${RECORD_SEP}6`];

const ACK_MAX = 2 ** 31 - 1;
function sioViolation(text: string): string | null {
  const p = parseSioPacket(text);
  if (!p.ok) {
    if (p.ack && (!Number.isInteger(p.ack.id) || p.ack.id < 0 || p.ack.id > ACK_MAX)) return "refusal acks an invalid id";
    return null;
  }
  const v = p.value;
  if (!v.nsp.startsWith("/")) return "namespace without /";
  if ((v.type === "event" || v.type === "ack") && v.id !== null && (!Number.isInteger(v.id) || v.id < 0 || v.id > ACK_MAX)) return "invalid ack id accepted";
  if (v.type === "event") {
    if (typeof v.event !== "string" || !Array.isArray(v.args)) return "event without name or args";
    const e = parseClientEvent(v.event, v.args);
    if (e.ok && e.value.kind === "join" && e.value.room === undefined) return "join without room accepted";
  }
  return null;
}

/** Engine.IO: a polling POST body (packets split on the record separator) or one WebSocket frame. */
const enginePackets: Target<string> = {
  name: "Engine.IO packets (polling payload, WebSocket frame)",
  source: "src/protocols/socketio/codec.ts",
  arb: mutatedText([...engineSeeds, ...pollingSeeds]),
  run(body) {
    for (const packet of body.split(RECORD_SEP)) {
      const p = parseEnginePacket(packet);
      if (!p.ok) continue;
      if (p.value.type === "message") {
        const v = sioViolation(p.value.data);
        if (v) return v;
      }
    }
    return null;
  },
};

const sioPackets: Target<string> = {
  name: "Socket.IO packets (incl. binary attachment headers)",
  source: "src/protocols/socketio/codec.ts",
  arb: mutatedText(sioSeeds, [["join", { room: "a", secret: "s" }], ["leave", { room: "a" }], { token: "x" }]).map((s) => (/^[0-6]/.test(s) ? s : `2${s}`)),
  run: sioViolation,
};

// ---- Redis ingest ---------------------------------------------------------------------------

const pickleSeeds = PICKLE_SEEDS_B64.map((b) => new Uint8Array(Buffer.from(b, "base64")));
const PICKLE_LIMITS = { maxBytes: 1024 * 1024, maxDepth: PICKLE_DEFAULTS.maxDepth, maxItems: PICKLE_DEFAULTS.maxItems };

const pickle: Target<Uint8Array> = {
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

const emitter: Target<Uint8Array> = {
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
  awaiting: { what: "emitter calls String() on a packet type from Redis (issue 11)", present: runs(() => parseEmitterMessage(new Uint8Array(msgpack(["u", { type: { toString: 1 } }, {}])))) },
};

const fanoutSeeds = [
  encodeEmit("node-a", { event: "update", args: [{ time: 1 }], namespace: "/", rooms: ["time"] }),
  encodeEmit("node-b", { event: "m", args: ["raw text"], raw: "raw text", namespace: "/", rooms: null, only: ["wsify"], except: ["x"] }),
  encodeEmit("node-c", { event: "b", args: [], namespace: "/chat", rooms: ["a"], binary: { args: [{ _placeholder: true, num: 0 }], buffers: [new Uint8Array([1, 2])] } }),
  encodeCanary("node-a", 42),
];

const fanout: Target<string> = {
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

const configFile: Target<string> = {
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

const TOKEN_KEY = "roomspace-secret";
const tokenSeeds = [
  signToken({ rooms: ["dir::a"], exp: 4_000_000_000 }, TOKEN_KEY),
  signToken({ rooms: ["dir::*", "dir::b"], exp: 4_000_000_000, sub: "user-7" }, TOKEN_KEY),
  signToken({ rooms: ["dir::a"], exp: 1 }, TOKEN_KEY),
];

const token: Target<string> = {
  name: "join token (?token=, join frames)",
  source: "src/auth/token.ts",
  arb: mutatedText(tokenSeeds),
  run(t) {
    const d = decodeToken(t);
    if (d.ok && (t.length > MAX_TOKEN_LENGTH || d.payload.rooms.length === 0 || !Number.isFinite(d.payload.exp))) return "decoded a token outside its bounds";
    const v = verifyToken(t, "dir::a", TOKEN_KEY);
    if (!v.ok) return null;
    const [part, sig] = t.split(".");
    const want = createHmac("sha256", TOKEN_KEY).update(part!).digest();
    return want.equals(Buffer.from(sig!, "base64url")) ? null : "a token with a wrong signature was accepted";
  },
};

// ---- request headers and Redis URLs --------------------------------------------------------

const headerValues = mutatedText(["127.0.0.1", "203.0.113.5, 127.0.0.1", 'for="[::1]:5555";proto=https, for=198.51.100.7', "::ffff:127.0.0.1", "127.evil.example", "localhost:8899", "http://127.0.0.1:8899", "cross-site", "same-origin", "null"]);
const HEADER_NAMES = ["x-forwarded-for", "x-real-ip", "forwarded", "host", "origin", "referer", "sec-fetch-site"] as const;

/** The no-secret rule's inputs: every header it reads, and the peer address. */
const localClient: Target<[string[], string]> = {
  name: "forwarded headers and the cross-site rule",
  source: "src/auth/forwarded.ts, src/auth/cross-site.ts",
  arb: fc.tuple(fc.array(headerValues, { minLength: 7, maxLength: 7 }), fc.constantFrom("127.0.0.1", "::1", "::ffff:127.0.0.1", "203.0.113.5")),
  run([values, peer]) {
    const h = new Map<string, string>();
    values.forEach((v, i) => i % 2 === 0 || v.length % 3 !== 0 ? h.set(HEADER_NAMES[i]!, v) : null);
    const headers = { get: (n: string) => h.get(n) ?? null };
    const refusal = localClientRefusal(headers, peer, ["app.local"]);
    const nodes = forwardedNodes(headers);
    if (refusal === null) {
      if (!isLoopbackIp(peer)) return "a remote peer passed";
      if (nodes === null || nodes.some((n) => n.ip === null || !isLoopbackIp(n.ip))) return "a request forwarded for someone else passed";
      const site = h.get("sec-fetch-site")?.trim().toLowerCase();
      if (site === "cross-site" || site === "same-site") return "a cross-site request passed";
    }
    for (const n of nodes ?? []) if (n.ip !== null && parseIp(n.ip) !== n.ip) return `parseIp is not stable on ${n.ip}`;
    const client = clientAddress(headers, peer, ["loopback"]);
    if (client !== peer && parseIp(client) === null) return "a forwarded value that is not an address became the client";
    return null;
  },
};

/** redact() on Redis URLs with a password somewhere: no 4-character piece of it may remain. */
const redisUrl: Target<[string, string, number]> = {
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

export const TARGETS: Target[] = [emitBody, nativeFrame, wsifyFrame, webdisFrame, wspushToken, enginePackets, sioPackets, pickle, emitter, fanout, configFile, token, localClient, redisUrl];

export const BY_NAME = { emitBody, nativeFrame, wsifyFrame, webdisFrame, wspushToken, enginePackets, sioPackets, fanout, token };
