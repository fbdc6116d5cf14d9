/**
 * Value parsers for the settings table in ./config.ts. Each throws a message; resolveConfig
 * adds where the value came from. Pure.
 */
import { parseRedisTarget, redact } from "./redis-url.ts";
import { isValidRoomspace } from "./rooms.ts";

/** ":9000" and "9000" listen on every interface, as the original default 0.0.0.0. */
const DEFAULT_HOST = "0.0.0.0";
export const last = (raw: string[]) => raw[raw.length - 1]!;
export const str = (raw: string[]) => last(raw);
export const optStr = (raw: string[]) => (last(raw) === "" ? null : last(raw));
export const words = (raw: string[]) => raw.flatMap((r) => r.split(/[\s,]+/)).filter(Boolean);

export function int(min: number, max: number) {
  return (raw: string[]) => {
    const s = last(raw).trim();
    if (!/^\d+$/.test(s)) throw new Error(`expected a whole number, got "${s}"`);
    const n = Number(s);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 };
export function size(min: number, max: number) {
  return (raw: string[]) => {
    const m = /^(\d+)\s*([a-z]*)$/i.exec(last(raw).trim());
    const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
    if (!m || unit === undefined) throw new Error(`expected a size like 65536, 64k or 1m, got "${last(raw)}"`);
    const n = Number(m[1]) * unit;
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max} bytes, got ${n}`);
    return n;
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
export function duration(minMs: number, maxMs: number) {
  return (raw: string[]) => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(last(raw).trim());
    if (!m) throw new Error(`expected a duration like 25s, 500ms or 2m, got "${last(raw)}"`);
    const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? "s"]!);
    if (ms < minMs || ms > maxMs) throw new Error(`must be between ${minMs} ms and ${maxMs} ms, got ${ms} ms`);
    return ms;
  };
}

export function oneOf<T extends string>(options: readonly T[]) {
  return (raw: string[]) => {
    const v = last(raw).trim().toLowerCase();
    if (!options.includes(v as T)) throw new Error(`expected one of ${options.join(", ")}, got "${last(raw)}"`);
    return v as T;
  };
}

/** "HOST:PORT", "[v6]:PORT", ":PORT" or "PORT". */
export function parseAddress(s: string): { host: string; port: number } {
  const t = s.trim();
  let host: string;
  let portText: string;
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(t);
  if (v6) [host, portText] = [v6[1]!, v6[2]!];
  else if (/^\d+$/.test(t)) [host, portText] = [DEFAULT_HOST, t];
  else {
    const i = t.lastIndexOf(":");
    if (i < 0 || t.indexOf(":") !== i) throw new Error(`expected HOST:PORT (IPv6 as [::1]:8899), got "${s}"`);
    host = t.slice(0, i) || DEFAULT_HOST;
    portText = t.slice(i + 1);
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new Error(`port must be 0-65535, got "${portText}"`);
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new Error(`invalid host "${host}"`);
  return { host, port: Number(portText) };
}

export function corsList(raw: string[]) {
  const list = words(raw);
  for (const o of list) {
    if (o === "*") continue;
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new Error(`"${o}" is not an origin like https://example.com (or * for any)`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`"${o}" must start with http:// or https://`);
    if (u.pathname !== "/" || u.search) throw new Error(`"${o}" must be an origin (scheme://host[:port]) with no path`);
  }
  return list;
}

/** "none" (or "off", or empty) runs without Redis: the in-memory engine, one node. */
export function redisUrl(raw: string[]) {
  const v = last(raw).trim();
  if (v === "" || /^(none|off)$/i.test(v)) return null;
  const t = parseRedisTarget(v);
  if (!t.ok) throw new Error(t.error);
  return v;
}

/** --cluster: a short name that goes into Redis channel and key names. "" = unnamed. */
export function clusterName(raw: string[]) {
  const v = last(raw).trim();
  if (v === "") return null;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new Error(`expected 1-64 letters, digits, ".", "_" or "-", got ${JSON.stringify(v.slice(0, 80))}`);
  return v;
}

export function roomspaceSecrets(raw: string[]) {
  const map = new Map<string, string>();
  for (const item of raw.flatMap((r) => r.split(/\s+/)).filter(Boolean)) {
    const i = item.indexOf("=");
    const name = i < 0 ? item : item.slice(0, i);
    // Without "=" the lone word is most likely the secret itself: never echo it.
    if (i < 0) throw new Error('expected NAME=SECRET, got a value without "=" (not shown: it may be the secret)');
    if (i === 0 || i === item.length - 1) throw new Error(`expected NAME=SECRET, got "${i === 0 ? "=…" : `${name}=`}"`);
    if (!isValidRoomspace(name)) throw new Error(`roomspace "${name}" may only use letters, digits, ".", "_" and "-"`);
    map.set(name, item.slice(i + 1));
  }
  return map;
}

export function httpUrl(raw: string[]) {
  const v = last(raw).trim();
  if (v === "") return null;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new Error(`"${redact(v)}" is not a URL like http://127.0.0.1:8080/authorize`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`"${redact(v)}" must start with http:// or https://`);
  return v;
}

export function wspushKey(raw: string[]) {
  const v = last(raw).trim();
  if (v === "") return null;
  if (!/^[A-Za-z0-9_-]+$/.test(v)) throw new Error("must be base64url without padding (A-Z a-z 0-9 - _)");
  return v;
}

export function workers(raw: string[]) {
  const v = last(raw).trim();
  if (v === "auto") return 0; // resolved to the core count by the serve command
  return int(1, 256)(raw);
}

/**
 * "20/s", "600/m", "20" (per second), optionally with a burst: "20/s,burst=100" (default 2×
 * the per-second rate, at least 1); "0" or "off" = no limit.
 */
export function parseConnectionRate(text: string): { perSecond: number; burst: number } | null {
  const t = text.trim().toLowerCase();
  if (t === "0" || t === "off") return null;
  const m = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|m|min))?\s*(?:,\s*burst\s*=\s*(\d+))?$/.exec(t);
  if (!m) throw new Error(`expected a rate like 20/s, 600/m or 20/s,burst=100 (0 or off: no limit), got "${text}"`);
  const perSecond = Number(m[1]) / (m[2]?.startsWith("m") ? 60 : 1);
  if (perSecond <= 0 || perSecond > 1_000_000) throw new Error(`rate must be above 0 and at most 1000000/s, got "${text}"`);
  const burst = m[3] !== undefined ? Number(m[3]) : Math.max(1, Math.ceil(perSecond * 2));
  if (burst < 1 || burst > 10_000_000) throw new Error(`burst must be between 1 and 10000000, got ${burst}`);
  return { perSecond, burst };
}

export function rateExempt(raw: string[]) {
  const list = words(raw).map((w) => w.toLowerCase());
  if (list.length === 1 && list[0] === "none") return [];
  for (const w of list) {
    if (w === "loopback") continue;
    if (!/^[0-9.]+$/.test(w) && !/^[0-9a-f:.]+$/.test(w)) throw new Error(`expected "loopback", "none" or IP addresses, got "${w}"`);
  }
  return list;
}

/** The table: every setting, its flag, its environment names, its parser. */
