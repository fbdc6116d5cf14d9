/**
 * Socket.IO v5 over Engine.IO v4: packet codec and the hub format. Pure: no I/O.
 *
 * An Engine.IO packet is one type digit plus data; a Socket.IO packet rides in an Engine.IO
 * "message" (4). So the frame a client receives for an event is `42["update",{…}]`, or
 * `42/chat,["update",{…}]` in namespace /chat. Over WebSocket a frame is one packet; over
 * long-polling packets are joined by the record separator \x1e.
 *
 * Binary: an emit carrying bytes (from a pickle or the Redis emitter) goes out as a BINARY_EVENT
 * (`451-[…placeholders…]` plus one binary frame per attachment, `b<base64>` on long-polling).
 * Binary packets *from* clients (types 5 and 6) are not taken: clients only send join/leave.
 */
import type { Encoded, Format, MultiFrame } from "../../core/hub.ts";
import { formatPosition } from "../../core/history-id.ts";
import type { EmitMessage } from "../../core/message.ts";

export const SIO_FORMAT_ID = "sio";

/** Engine.IO packet types (protocol v4). */
export const EIO = { OPEN: "0", CLOSE: "1", PING: "2", PONG: "3", MESSAGE: "4", UPGRADE: "5", NOOP: "6" } as const;
/** Separates packets in a long-polling payload. */
export const RECORD_SEP = "\x1e";

/** The prefix a namespace adds after the packet type: nothing for "/", "/ns," otherwise. */
export function nsPrefix(ns: string): string {
  return ns === "/" ? "" : `${ns},`;
}

/**
 * One encoding per room; Socket.IO events carry no room, so every room gets the same text.
 * A multi-room emit reaches a socket once (`once`), as `io.to(a).to(b).emit` does.
 */
export const sioFormat: Format = {
  id: SIO_FORMAT_ID,
  once: true,
  encode(msg: EmitMessage, room: string | null): Encoded {
    // --history: the event's position in this room as an extra last argument, the offset
    // socket.io-client (>= 4.6) keeps and sends back to recover (connection state recovery).
    const p = room !== null ? msg.positions?.get(room) : undefined;
    if (msg.binary) return encodeBinaryEvent(msg.namespace, msg.event, p ? [...msg.binary.args, formatPosition(p)] : msg.binary.args, msg.binary.buffers);
    return encodeEvent(msg.namespace, msg.event, p ? [...msg.args, formatPosition(p)] : msg.args);
  },
};

/**
 * `451-["event",{"_placeholder":true,"num":0}]` then each attachment as its own binary frame
 * (Socket.IO BINARY_EVENT). On WebSocket the attachments go out as binary frames as they are;
 * long-polling sends them as `b<base64>` records (engineio-session.ts).
 */
export function encodeBinaryEvent(ns: string, event: string, args: unknown[], buffers: Uint8Array[]): MultiFrame {
  return { parts: [`45${buffers.length}-${nsPrefix(ns)}${JSON.stringify([event, ...args])}`, ...buffers] };
}

/** `42["event",arg1,arg2]` (Engine.IO message + Socket.IO EVENT). */
export function encodeEvent(ns: string, event: string, args: unknown[]): string {
  return `42${nsPrefix(ns)}${JSON.stringify([event, ...args])}`;
}

/** `40{"sid":…}`: the namespace CONNECT answer; with `pid` (history on) the client may recover the session later. */
export function encodeConnect(ns: string, sid: string, pid?: string): string {
  return `40${nsPrefix(ns)}${JSON.stringify(pid === undefined ? { sid } : { sid, pid })}`;
}

/** The offset a Socket.IO event frame carries as its last argument (our own text), or null. */
export function sioFrameOffset(frame: string): string | null {
  const m = /,"([0-9a-z]{1,16}-[0-9]{1,15})"\]$/.exec(frame);
  return m ? m[1]! : null;
}


/** `44{"message":…}`: CONNECT_ERROR, the client emits `connect_error` with it. */
export function encodeConnectError(ns: string, message: string): string {
  return `44${nsPrefix(ns)}${JSON.stringify({ message })}`;
}

/** `43N[…]`: the answer to an event sent with an ack id. */
export function encodeAck(ns: string, id: number, args: unknown[]): string {
  return `43${nsPrefix(ns)}${id}${JSON.stringify(args)}`;
}

/** `41`: server-side disconnect of a namespace; the client does not reconnect on its own. */
export function encodeDisconnect(ns: string): string {
  return `41${nsPrefix(ns)}`;
}

export interface Handshake {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}
/** Engine.IO OPEN packet: `0{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`. */
export function encodeOpen(h: Handshake): string {
  return EIO.OPEN + JSON.stringify(h);
}

export type EnginePacket =
  | { type: "close" }
  | { type: "ping"; data: string }
  | { type: "pong"; data: string }
  | { type: "message"; data: string }
  | { type: "upgrade" }
  | { type: "noop" };

/**
 * A refusal; `ack` when the refused packet asked for an acknowledgement (answer it);
 * `unsupported` when the packet is valid but not taken here (binary attachments), as opposed
 * to one that breaks the protocol.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; ack?: { nsp: string; id: number }; unsupported?: true };

/** Parse one Engine.IO packet a client sent (text). */
export function parseEnginePacket(text: string): Parsed<EnginePacket> {
  const data = text.slice(1);
  switch (text[0]) {
    case EIO.CLOSE:
      return { ok: true, value: { type: "close" } };
    case EIO.PING:
      return { ok: true, value: { type: "ping", data } };
    case EIO.PONG:
      return { ok: true, value: { type: "pong", data } };
    case EIO.MESSAGE:
      return { ok: true, value: { type: "message", data } };
    case EIO.UPGRADE:
      return { ok: true, value: { type: "upgrade" } };
    case EIO.NOOP:
      return { ok: true, value: { type: "noop" } };
    case "b":
      return { ok: false, error: "binary packets are not supported", unsupported: true };
    case EIO.OPEN:
      return { ok: false, error: "clients do not send OPEN packets" };
    default:
      return { ok: false, error: text === "" ? "empty packet" : `unknown Engine.IO packet type ${JSON.stringify(text[0])}` };
  }
}

export type SioPacket =
  | { type: "connect"; nsp: string; auth: unknown }
  | { type: "disconnect"; nsp: string }
  | { type: "event"; nsp: string; id: number | null; event: string; args: unknown[] }
  | { type: "ack"; nsp: string; id: number; args: unknown[] };

/** Event names the Socket.IO protocol reserves; a client may not emit them. */
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);
const MAX_ACK_ID = 2 ** 31 - 1;

/** Parse one Socket.IO packet (the data of an Engine.IO message), as socket.io-parser encodes it. */
export function parseSioPacket(text: string): Parsed<SioPacket> {
  const type = text[0];
  let i = 1;
  if (type === "5" || type === "6") {
    // `5<n>-[/nsp,][id][…]`: refuse, but tell an emit with an ack why instead of leaving it waiting.
    const m = /^[56]\d+-(\/[^,]*,)?(\d{1,10})?/.exec(text);
    const id = m?.[2] !== undefined ? Number(m[2]) : null;
    const error = "binary attachments are not supported: send base64 text instead";
    if (type === "5" && id !== null && id <= MAX_ACK_ID) return { ok: false, error, unsupported: true, ack: { nsp: m?.[1]?.slice(0, -1) ?? "/", id } };
    return { ok: false, error, unsupported: true };
  }
  if (type !== "0" && type !== "1" && type !== "2" && type !== "3")
    return { ok: false, error: type === undefined ? "empty Socket.IO packet" : `unexpected Socket.IO packet type ${JSON.stringify(type)}` };
  let nsp = "/";
  if (text[i] === "/") {
    const end = text.indexOf(",", i);
    nsp = end < 0 ? text.slice(i) : text.slice(i, end);
    i = end < 0 ? text.length : end + 1;
  }
  let id: number | null = null;
  const digits = /^\d+/.exec(text.slice(i, i + 12));
  if (digits) {
    id = Number(digits[0]);
    if (id > MAX_ACK_ID) return { ok: false, error: "ack id is too large" };
    i += digits[0].length;
  }
  let payload: unknown;
  if (i < text.length) {
    try {
      payload = JSON.parse(text.slice(i));
    } catch {
      return { ok: false, error: "payload is not valid JSON" };
    }
  }
  switch (type) {
    case "0":
      if (payload !== undefined && (typeof payload !== "object" || payload === null || Array.isArray(payload)))
        return { ok: false, error: "CONNECT payload must be an object" };
      return { ok: true, value: { type: "connect", nsp, auth: payload } };
    case "1":
      if (payload !== undefined) return { ok: false, error: "DISCONNECT takes no payload" };
      return { ok: true, value: { type: "disconnect", nsp } };
    case "2": {
      // As socket.io-parser: a non-empty array whose first item (the name) is a string or a number.
      if (!Array.isArray(payload) || (typeof payload[0] !== "string" && typeof payload[0] !== "number"))
        return { ok: false, error: "EVENT payload must be [name, ...args]" };
      if (typeof payload[0] === "string" && RESERVED.has(payload[0])) return { ok: false, error: `"${payload[0]}" is a reserved event name` };
      return { ok: true, value: { type: "event", nsp, id, event: String(payload[0]), args: payload.slice(1) } };
    }
    case "3":
      if (id === null || !Array.isArray(payload)) return { ok: false, error: "ACK needs an id and an array payload" };
      return { ok: true, value: { type: "ack", nsp, id, args: payload } };
  }
  return { ok: false, error: "unreachable" };
}

export type ClientEvent =
  | { kind: "join"; room: unknown; secret: unknown; token: unknown }
  | { kind: "leave"; room: unknown }
  | { kind: "other" };

/**
 * What a client event asks for. `join` and `leave` take one object `{room, secret?, token?}` as the
 * seed's Flask handlers did; any other event name is ignored (Socket.IO: no handler, no answer).
 */
export function parseClientEvent(event: string, args: unknown[]): Parsed<ClientEvent> {
  if (event !== "join" && event !== "leave") return { ok: true, value: { kind: "other" } };
  const a = args[0];
  if (typeof a !== "object" || a === null || Array.isArray(a)) return { ok: false, error: `${event} takes an object like {"room":"time"}` };
  const o = a as Record<string, unknown>;
  if (o.room === undefined) return { ok: false, error: '"room" is required' };
  return { ok: true, value: event === "join" ? { kind: "join", room: o.room, secret: o.secret, token: o.token } : { kind: "leave", room: o.room } };
}
