/**
 * wsify compatibility (a Go WebSocket server): clients send commands, receive bare content.
 *   → {"command":"join","args":{"channel":"hello"}}     (newer wsify: "channels":["a","b"])
 *   → {"command":"leave","args":{"channel":"hello"}}
 *   → {"command":"broadcast","args":{"channel":"hello","content":<any JSON>}}
 *   ← one text frame holding exactly the published content, no envelope
 * Pure: no I/O.
 */
import type { TextFormat } from "../../../core/hub.ts";
import type { EmitMessage } from "../../../core/message.ts";
import { deeperThan, depthError, MAX_DEPTH, quote } from "../../../core/bounds.ts";

export const WSIFY_FORMAT_ID = "wsify";
/** Event name given to wsify broadcasts when they reach other transports. */
export const WSIFY_EVENT = "message";

export const wsifyFormat: TextFormat = {
  id: WSIFY_FORMAT_ID,
  encode(msg: EmitMessage): string {
    // As wsify: content is sent as its JSON text; a plain Redis PUBLISH goes out verbatim.
    if (msg.raw !== undefined) return msg.raw;
    const content = msg.args.length <= 1 ? msg.args[0] : msg.args;
    return JSON.stringify(content === undefined ? null : content);
  },
};

export type WsifyCommand =
  | { command: "join" | "leave"; channels: string[]; secret: unknown; token: unknown; raw: Record<string, unknown> }
  | { command: "broadcast"; channels: string[]; content: unknown; raw: Record<string, unknown> };

export type WsifyParse = { ok: true; value: WsifyCommand } | { ok: false; error: string };

/** Is this decoded frame a wsify command (as opposed to a native-protocol frame)? */
export function isWsifyFrame(x: unknown): boolean {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "command" in x && !("type" in x);
}

/** wsify clients name channels with strings, some with numbers; nothing else is a channel name. */
function channelName(c: unknown): string | null {
  if (typeof c === "string") return c;
  if (typeof c === "number" && Number.isFinite(c)) return String(c);
  return null;
}

export function parseWsifyCommand(x: unknown): WsifyParse {
  if (!isWsifyFrame(x)) return { ok: false, error: 'expected {"command":…,"args":{…}}' };
  const o = x as Record<string, unknown>;
  const args = o.args;
  if (typeof args !== "object" || args === null || Array.isArray(args)) return { ok: false, error: '"args" must be an object' };
  const a = args as Record<string, unknown>;
  if (o.command !== "join" && o.command !== "leave" && o.command !== "broadcast")
    return { ok: false, error: `unknown command ${quote(o.command)}; expected join, leave or broadcast` };
  const channels: string[] = [];
  if (a.channel !== undefined) {
    const c = channelName(a.channel);
    if (c === null) return { ok: false, error: `"channel" must be a string, got ${quote(a.channel)}` };
    channels.push(c);
  }
  if (Array.isArray(a.channels)) {
    for (const item of a.channels) {
      const c = channelName(item);
      if (c === null) return { ok: false, error: `"channels" must hold strings, got ${quote(item)}` };
      channels.push(c);
    }
  }
  if (channels.length === 0) return { ok: false, error: 'args needs "channel" (or "channels")' };
  // The command may be sent on to the authorizer and its content to every subscriber: both re-serialise it.
  if (deeperThan(o, MAX_DEPTH + 2)) return { ok: false, error: depthError("the command") };
  switch (o.command) {
    case "join":
    case "leave":
      return { ok: true, value: { command: o.command, channels, secret: a.secret, token: a.token, raw: o } };
    case "broadcast":
      if (!("content" in a)) return { ok: false, error: 'broadcast needs args.content' };
      return { ok: true, value: { command: "broadcast", channels, content: a.content, raw: o } };
    default:
      return { ok: false, error: `unknown command ${quote(o.command)}; expected join, leave or broadcast` };
  }
}
