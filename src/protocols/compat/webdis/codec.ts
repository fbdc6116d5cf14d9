/**
 * webdis compatibility: its WebSocket JSON interface at /.json, subscribe family only
 * (ws-emit is not a general Redis proxy). Pure: no I/O.
 *   → ["SUBSCRIBE","chan"]    ← {"SUBSCRIBE":["subscribe","chan",1]}
 *                             ← {"SUBSCRIBE":["message","chan","payload"]}   per message
 *   → ["UNSUBSCRIBE","chan"]  ← {"UNSUBSCRIBE":["unsubscribe","chan",0]}
 *   → ["PING"]                ← {"PING":[true,"PONG"]}
 * webdis sends binary frames; we send text, which browsers and JSON.parse(evt.data) read directly.
 */
import type { TextFormat } from "../../../core/hub.ts";
import type { EmitMessage } from "../../../core/message.ts";
import { clip } from "../../../core/bounds.ts";

export const WEBDIS_FORMAT_ID = "webdis";

/** Payloads are strings in Redis: a string argument goes as is, anything else as its JSON. */
export function payloadText(msg: EmitMessage): string {
  if (msg.raw !== undefined) return msg.raw;
  const a = msg.args.length <= 1 ? msg.args[0] : msg.args;
  return typeof a === "string" ? a : JSON.stringify(a === undefined ? null : a);
}

export const webdisFormat: TextFormat = {
  id: WEBDIS_FORMAT_ID,
  encode(msg: EmitMessage, room: string | null): string {
    return JSON.stringify({ SUBSCRIBE: ["message", room ?? "", payloadText(msg)] });
  },
};

export type WebdisCommand =
  | { cmd: "SUBSCRIBE"; channels: string[] }
  | { cmd: "UNSUBSCRIBE"; channels: string[] }
  | { cmd: "PING" }
  | { cmd: "OTHER"; name: string };

export type WebdisParse = { ok: true; value: WebdisCommand } | { ok: false; error: string };

export function parseWebdisFrame(text: string): WebdisParse {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    return { ok: false, error: "invalid JSON" };
  }
  if (!Array.isArray(x) || x.length === 0 || typeof x[0] !== "string") return { ok: false, error: 'expected a JSON array like ["SUBSCRIBE","channel"]' };
  // Echoed as the key of the reply to an unsupported command: cut (no command name is longer).
  const name = clip(x[0], 32).toUpperCase();
  // webdis clients often pass numbers as channel names (["SUBSCRIBE", 666]); nothing else names a
  // channel (an object or array would be re-serialised, recursing once per level of nesting).
  const channels: string[] = [];
  for (let i = 1; i < x.length; i++) {
    const c = x[i];
    if (typeof c === "string") channels.push(c);
    else if ((typeof c === "number" && Number.isFinite(c)) || typeof c === "boolean") channels.push(String(c));
    else return { ok: false, error: "channel names must be strings or numbers" };
  }
  switch (name) {
    case "SUBSCRIBE":
      if (channels.length === 0) return { ok: true, value: { cmd: "OTHER", name } };
      return { ok: true, value: { cmd: "SUBSCRIBE", channels } };
    case "UNSUBSCRIBE":
      return { ok: true, value: { cmd: "UNSUBSCRIBE", channels } };
    case "PING":
      return { ok: true, value: { cmd: "PING" } };
    default:
      return { ok: true, value: { cmd: "OTHER", name } };
  }
}

export function encodeWebdisReply(cmd: string, value: unknown[]): string {
  return JSON.stringify({ [cmd]: value });
}
