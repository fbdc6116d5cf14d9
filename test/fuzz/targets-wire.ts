/** Fuzz targets for what clients send: WebSocket frames, Engine.IO/Socket.IO packets, tokens, request headers. */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { localClientRefusal } from "../../src/auth/cross-site.ts";
import { clientAddress, forwardedNodes, isLoopbackIp, parseIp } from "../../src/auth/forwarded.ts";
import { decodeToken, MAX_TOKEN_LENGTH, signToken, verifyToken } from "../../src/auth/token.ts";
import { parseWebdisFrame } from "../../src/protocols/compat/webdis/codec.ts";
import { parseWsifyCommand } from "../../src/protocols/compat/wsify/codec.ts";
import { checkWspushToken, decodeKey, MAX_TOKEN_LENGTH as WSPUSH_MAX, signWspushToken } from "../../src/protocols/compat/wspush/codec.ts";
import { parseClientFrame } from "../../src/protocols/native/codec.ts";
import { parseClientEvent, parseEnginePacket, parseSioPacket, RECORD_SEP } from "../../src/protocols/socketio/codec.ts";
import { mutatedText } from "./mutators.ts";
import type { Target } from "./target.ts";

// ---- WebSocket frames ----------------------------------------------------------------------

const nativeSeeds: unknown[] = [
  { type: "join", room: "time", id: 1 },
  { type: "join", room: "dir::a", secret: "S", id: "x" },
  { type: "join", room: "dir::a", token: "eyJyb29tcyI6WyJkaXI6OmEiXX0.c2ln" },
  { type: "leave", room: "time" },
  { type: "ping", id: 7 },
];

export const nativeFrame: Target<string> = {
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

};

const wsifySeeds: unknown[] = [
  { command: "join", args: { channel: "hello" } },
  { command: "join", args: { channels: ["a", "dir::b"], secret: "S" } },
  { command: "leave", args: { channel: "hello" } },
  { command: "broadcast", args: { channel: "c", content: { any: ["json"] } } },
];

/** A /ws frame that is a wsify command (JSON object with "command"), as the native socket hands it over. */
export const wsifyFrame: Target<string> = {
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
};

const webdisSeeds: unknown[] = [["SUBSCRIBE", "hello"], ["SUBSCRIBE", 666, "dir::a"], ["UNSUBSCRIBE", "hello"], ["PING"], ["GET", "k"]];

export const webdisFrame: Target<string> = {
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
};

const wspushKey = decodeKey("c2VjcmV0LWtleS0xMjM0NQ")!;
const wspushTokens = [signWspushToken("Foo", wspushKey), signWspushToken("user-7", wspushKey), "Foo", "a".repeat(64)];

export const wspushToken: Target<[string, boolean]> = {
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
export const enginePackets: Target<string> = {
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

export const sioPackets: Target<string> = {
  name: "Socket.IO packets (incl. binary attachment headers)",
  source: "src/protocols/socketio/codec.ts",
  arb: mutatedText(sioSeeds, [["join", { room: "a", secret: "s" }], ["leave", { room: "a" }], { token: "x" }]).map((s) => (/^[0-6]/.test(s) ? s : `2${s}`)),
  run: sioViolation,
};

const TOKEN_KEY = "roomspace-secret";
const tokenSeeds = [
  signToken({ rooms: ["dir::a"], exp: 4_000_000_000 }, TOKEN_KEY),
  signToken({ rooms: ["dir::*", "dir::b"], exp: 4_000_000_000, sub: "user-7" }, TOKEN_KEY),
  signToken({ rooms: ["dir::a"], exp: 1 }, TOKEN_KEY),
];

export const token: Target<string> = {
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
export const localClient: Target<[string[], string]> = {
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
