/**
 * Redis URLs: `redis://` / `rediss://` (one server, via ioredis) and
 * `redis+cluster://[user:pass@]host:port[,host:port…]` / `rediss+cluster://…` (Redis Cluster).
 * Pure: the cluster form is parsed by hand because WHATWG URL refuses commas in the host.
 */

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "cluster"; nodes: ClusterNodeAddress[]; username?: string; password?: string; tls: boolean };

export type RedisTargetResult = { ok: true; value: RedisTarget } | { ok: false; error: string };

/** Highest database index accepted (Redis's default `databases 16`). */
export const MAX_DB = 15;

const CLUSTER_RE = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;

/** Parse a `--redis` value; the error names what is wrong without echoing a password. */
export function parseRedisTarget(raw: string): RedisTargetResult {
  const v = raw.trim();
  if (/^rediss?\+cluster:/i.test(v)) {
    const m = CLUSTER_RE.exec(v);
    if (!m) return { ok: false, error: "expected redis+cluster://[user:password@]host:port[,host:port…] (no path: a cluster has only database 0)" };
    const nodes: ClusterNodeAddress[] = [];
    for (const part of m[3]!.split(",")) {
      const n = parseHostPort(part.trim());
      if (!n) return { ok: false, error: `cluster node "${part}" is not host:port` };
      nodes.push(n);
    }
    let username: string | undefined;
    let password: string | undefined;
    if (m[2] !== undefined) {
      const i = m[2].indexOf(":");
      const user = decodeURIComponent(i < 0 ? m[2] : m[2].slice(0, i));
      if (i >= 0) password = decodeURIComponent(m[2].slice(i + 1));
      if (user) username = user;
    }
    return { ok: true, value: { kind: "cluster", nodes, username, password, tls: m[1] === "rediss" } };
  }
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return { ok: false, error: `"${redact(v)}" is not a URL like redis://localhost:6379/0` };
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    return { ok: false, error: `"${redact(v)}" must start with redis://, rediss:// or redis+cluster://` };
  if (!u.hostname) return { ok: false, error: `"${redact(v)}" has no host` };
  // The path is the database index. Redis has 16 unless its `databases` setting says otherwise;
  // a larger index is almost always a typo, and ioredis would fail on SELECT at every reconnect.
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db)) return { ok: false, error: `"${redact(v)}": the path must be a database index 0-15 (redis://host:6379/0), got "/${db.slice(0, 20)}"` };
  if (db !== "" && Number(db) > MAX_DB) return { ok: false, error: `"${redact(v)}": database index ${db} is out of range: Redis has databases 0-${MAX_DB}` };
  return { ok: true, value: { kind: "single", url: v } };
}

function parseHostPort(s: string): ClusterNodeAddress | null {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535 || Number(m[2]) === 0) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/**
 * The URL with every password replaced, for logs and error messages. The user info ends at the
 * LAST "@" (a password may hold "@", "/" or ":" unencoded), and a password may also come as a
 * query parameter (`?password=`). A user name without a password may be one: hidden too.
 */
export function redact(url: string): string {
  // Query passwords first: one holding "@" must not pass for the end of the user info below.
  let out = url.replace(/([?&;](?:password|pass|pwd|secret|auth|token)=)[^&;#]*/gi, "$1***");
  const start = out.indexOf("://");
  const at = out.lastIndexOf("@");
  if (start >= 0 && at > start) {
    const info = out.slice(start + 3, at);
    const colon = info.indexOf(":");
    out = `${out.slice(0, start + 3)}${colon >= 0 ? `${info.slice(0, colon)}:***` : "***"}${out.slice(at)}`;
  }
  return out;
}

/**
 * A plain `redis://` URL for one server: the URL itself, or a cluster's first node (classic
 * PUBLISH reaches every node of a cluster, so one connection suffices for classic SUBSCRIBE).
 */
export function singleNodeUrl(raw: string): string {
  const t = parseRedisTarget(raw);
  if (!t.ok) throw new Error(t.error);
  if (t.value.kind === "single") return t.value.url;
  const { nodes, username, password, tls } = t.value;
  const n = nodes[0]!;
  const auth = username || password ? `${encodeURIComponent(username ?? "")}${password !== undefined ? `:${encodeURIComponent(password)}` : ""}@` : "";
  return `${tls ? "rediss" : "redis"}://${auth}${n.host.includes(":") ? `[${n.host}]` : n.host}:${n.port}`;
}
