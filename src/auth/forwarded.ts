/**
 * Forwarded-for headers (X-Forwarded-For, X-Real-IP, RFC 7239 Forwarded) and strict IP
 * parsing: which addresses a request claims to come from, and which one to believe. Pure.
 */

/** Longest header value looked at: a proxy chain is short, a 1 MB header is an attack. */
const MAX_HEADER = 4096;
/** Most forwarded entries looked at; more is treated as hostile (refused, never believed). */
const MAX_ENTRIES = 32;

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/;

/** A dotted quad, no leading zeros (no octal ambiguity), each part 0–255. */
export function isIpv4(s: string): boolean {
  return s.length <= 15 && V4.test(s);
}

/** An IPv6 address in text form (RFC 4291 2.2), with an optional trailing dotted quad; no zone id. */
export function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const t = s.toLowerCase();
  let groups = 8;
  let body = t;
  const lastColon = t.lastIndexOf(":");
  if (t.includes(".")) {
    if (!isIpv4(t.slice(lastColon + 1))) return false;
    body = t.slice(0, lastColon + 1) + "0:0"; // the quad stands for two groups
  }
  const halves = body.split("::");
  if (halves.length > 2) return false;
  const parts = (h: string) => (h === "" ? [] : h.split(":"));
  if (halves.length === 1) {
    const g = parts(halves[0]!);
    return g.length === groups && g.every((x) => HEX_GROUP.test(x));
  }
  const a = parts(halves[0]!);
  const b = parts(halves[1]!);
  groups -= 1; // "::" stands for at least one zero group
  return a.length + b.length <= groups && [...a, ...b].every((x) => HEX_GROUP.test(x));
}

/**
 * One forwarded node as an address, or null when it is anything else (a host name, "unknown",
 * an obfuscated "_id", garbage). Accepts `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`,
 * optionally in double quotes (Forwarded). IPv6 comes back lower-case without brackets.
 */
export function parseIp(raw: string): string | null {
  let s = raw.trim();
  if (s.length > 64) return null;
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  if (s.startsWith("[")) {
    const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
    if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return null;
    return isIpv6(m[1]!) ? m[1]!.toLowerCase() : null;
  }
  if (isIpv6(s)) return s.toLowerCase();
  const port = /^([0-9.]+):(\d{1,5})$/.exec(s);
  if (port) return Number(port[2]) <= 65535 && isIpv4(port[1]!) ? port[1]! : null;
  return isIpv4(s) ? s : null;
}

/** 127.0.0.0/8, ::1 and the IPv4-mapped ::ffff:127.x.y.z. Only strictly parsed addresses count. */
export function isLoopbackIp(ip: string | null | undefined): boolean {
  if (!ip) return false;
  const s = ip.toLowerCase();
  if (isIpv4(s)) return s.startsWith("127.");
  if (!isIpv6(s)) return false;
  const g = expandV6(s);
  if (g.slice(0, 5).some((x) => x !== 0)) return false;
  if (g[5] === 0) return g[6] === 0 && g[7] === 1; // ::1
  return g[5] === 0xffff && g[6]! >> 8 === 127;
}

/** The eight 16-bit groups of a valid IPv6 text address (a trailing dotted quad becomes two). */
function expandV6(s: string): number[] {
  let t = s;
  if (t.includes(".")) {
    const i = t.lastIndexOf(":");
    const q = t.slice(i + 1).split(".").map(Number);
    t = `${t.slice(0, i + 1)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [a, b] = t.split("::");
  const left = a ? a.split(":") : [];
  const right = b ? b.split(":") : [];
  const fill = b !== undefined ? 8 - left.length - right.length : 0;
  return [...left, ...Array<string>(fill).fill("0"), ...right].map((x) => parseInt(x, 16));
}

type HeaderSource = { get(name: string): string | null };

/** A forwarded node as the proxy wrote it; `ip` is null when it is not an address. */
export interface ForwardedNode {
  header: "x-forwarded-for" | "x-real-ip" | "forwarded";
  raw: string;
  ip: string | null;
}

/** Every node named by any forwarded header, in header order; null when there are too many or a header is too long. */
export function forwardedNodes(h: HeaderSource): ForwardedNode[] | null {
  const out: ForwardedNode[] = [];
  const xff = h.get("x-forwarded-for");
  const real = h.get("x-real-ip");
  const fwd = h.get("forwarded");
  if ((xff?.length ?? 0) > MAX_HEADER || (real?.length ?? 0) > MAX_HEADER || (fwd?.length ?? 0) > MAX_HEADER) return null;
  if (xff !== null) for (const part of xff.split(",")) out.push({ header: "x-forwarded-for", raw: part.trim(), ip: parseIp(part) });
  if (real !== null) out.push({ header: "x-real-ip", raw: real.trim(), ip: parseIp(real) });
  if (fwd !== null) {
    // for=192.0.2.1;proto=https, for="[2001:db8::1]:80" (RFC 7239): every for= of every element.
    for (const element of fwd.split(",")) {
      for (const pair of element.split(";")) {
        const eq = pair.indexOf("=");
        if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== "for") continue;
        const v = pair.slice(eq + 1).trim();
        out.push({ header: "forwarded", raw: v, ip: parseIp(v) });
      }
    }
  }
  return out.length > MAX_ENTRIES ? null : out;
}

/**
 * Why a loopback peer is not to be treated as a local client because of what it forwards, or
 * null: every forwarded node (any hop of X-Forwarded-For, X-Real-IP, every Forwarded for=) must
 * be a loopback address. A proxy forwarding for a remote client, or one that names something
 * that is not an address, is not "this machine".
 */
export function forwardedRefusal(h: HeaderSource): string | null {
  const nodes = forwardedNodes(h);
  if (nodes === null) return "the forwarded headers are too long";
  for (const n of nodes) {
    if (n.ip === null) return `${n.header} names "${clip(n.raw)}", which is not an IP address`;
    if (!isLoopbackIp(n.ip)) return `${n.header} names ${n.ip}, a client on another machine`;
  }
  return null;
}

/**
 * The client's address: the peer's, unless the peer is a trusted proxy (`trust`: "loopback"
 * and/or exact IPs, from --trust-proxy), then the address that proxy forwarded: the last
 * X-Forwarded-For hop (the one it appended), else the last Forwarded for=, else X-Real-IP.
 * A forwarded value that is not an address is ignored (the peer's address stands).
 */
export function clientAddress(h: HeaderSource, peer: string, trust: readonly string[]): string {
  if (trust.length === 0 || !isTrusted(peer, trust)) return peer;
  const nodes = forwardedNodes(h);
  if (!nodes) return peer;
  const pick = (header: ForwardedNode["header"]) => nodes.filter((n) => n.header === header).at(-1);
  const n = pick("x-forwarded-for") ?? pick("forwarded") ?? pick("x-real-ip");
  return n?.ip ?? peer;
}

function isTrusted(peer: string, trust: readonly string[]): boolean {
  const p = parseIp(peer) ?? peer;
  for (const t of trust) {
    if (t === "loopback" ? isLoopbackIp(p) : t === p) return true;
  }
  return false;
}

/** A client-supplied value, shortened for a message. */
function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
