/**
 * The "clients on this machine" rule for requests that no secret authenticates: the peer is
 * loopback, forwards for nobody else, and is not a browser running a page of another site
 * (cross-site request, foreign Origin/Referer, or a Host that is not this machine: DNS
 * rebinding). Pure: headers and addresses in, a refusal reason or null out.
 */
import { forwardedRefusal, isIpv4, isLoopbackIp, parseIp } from "./forwarded.ts";

type HeaderSource = { get(name: string): string | null };

/** Host names that mean this machine besides loopback ones (the listen address, the machine's name). */
export type LocalNames = readonly string[];

/** localhost, *.localhost, 127.x.y.z, [::1] (and the IPv4-mapped form): names that can only reach this machine. */
export function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h.startsWith("[") && h.endsWith("]")) return isLoopbackIp(h.slice(1, -1));
  return isIpv4(h) && isLoopbackIp(h);
}

/** `host[:port]` of a Host header, strictly: hostname lower-case, port or null; null when malformed. */
export function splitHost(value: string): { hostname: string; port: number | null } | null {
  if (value.length === 0 || value.length > 255) return null;
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && port > 65535) return null;
  return { hostname: m[1]!.toLowerCase(), port };
}

function isLocalName(hostname: string, names: LocalNames): boolean {
  if (isLoopbackName(hostname)) return true;
  const bare = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  return names.some((n) => n.toLowerCase() === bare || n.toLowerCase() === hostname);
}

/** The `host[:port]` a browser origin or referrer URL names, with its default port filled in. */
function originHostPort(value: string): { hostname: string; port: number } | null {
  if (value.length > 2048) return null;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  return { hostname: u.hostname.toLowerCase(), port: u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80 };
}

/**
 * Why this request is not from a client on this machine, or null when it is. `peer` is the TCP
 * peer's address; `secure` says whether the listener speaks TLS (for Host's default port).
 */
export function localClientRefusal(h: HeaderSource, peer: string, names: LocalNames, secure = false): string | null {
  if (!isLoopbackIp(parseIp(peer) ?? peer)) return "the request comes from another machine";
  const fwd = forwardedRefusal(h);
  if (fwd !== null) return `it came through a proxy: ${fwd}`;
  return crossSiteRefusal(h, names, secure);
}

/**
 * Why a loopback request looks like a browser running another site's page, or null. Backends,
 * curl and the built-in page (same origin) pass; a page elsewhere cannot hide all of these:
 *  - `Sec-Fetch-Site: cross-site|same-site` (every current browser sends it, even for `<img>`);
 *  - an `Origin` (or `"null"`) or `Referer` that is not this server's own origin;
 *  - a `Host` that is not this machine (a rebinding page sends its own name).
 * Other local web pages (another port of localhost) are refused too: they are another origin,
 * and the exemption is for programs on this machine, not for pages a browser shows.
 */
export function crossSiteRefusal(h: HeaderSource, names: LocalNames, secure = false): string | null {
  const site = h.get("sec-fetch-site");
  if (site !== null) {
    const s = site.trim().toLowerCase();
    if (s === "cross-site" || s === "same-site") return `the browser says it was sent by a page of another site (Sec-Fetch-Site: ${s})`;
  }
  const hostHeader = h.get("host");
  let host: { hostname: string; port: number } | null = null;
  if (hostHeader !== null) {
    const hp = splitHost(hostHeader.trim());
    if (hp === null) return "the Host header is malformed";
    if (!isLocalName(hp.hostname, names)) return `Host names ${clip(hp.hostname)}, not this machine (DNS rebinding?)`;
    host = { hostname: hp.hostname, port: hp.port ?? (secure ? 443 : 80) };
  }
  for (const header of ["origin", "referer"] as const) {
    const v = h.get(header);
    if (v === null) continue;
    const label = header === "origin" ? "Origin" : "Referer";
    const o = originHostPort(v.trim());
    if (o === null) return `${label} ${clip(v)} is not a web origin of this server`;
    // Same origin as the Host the browser connected to, and that Host is this machine.
    if (host === null || o.hostname !== host.hostname || o.port !== host.port) return `${label} ${clip(v)} is another site, not this server`;
  }
  return null;
}

function clip(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}
