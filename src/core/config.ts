/**
 * Configuration: one pure function, flags > environment > config file > defaults.
 * Every bad value is reported at once, naming where it came from.
 */
import { last, str, optStr, words, int, size, duration, oneOf, parseAddress, corsList, redisUrl, roomspaceSecrets, httpUrl, wspushKey, workers, parseConnectionRate, rateExempt, clusterName } from "./config-parse.ts";
import { didYouMean } from "./suggest.ts";

export { parseAddress, parseConnectionRate } from "./config-parse.ts";

export type LogFormat = "pretty" | "json";
export type LogLevel = "silent" | "error" | "warn" | "info" | "debug" | "trace";

export interface Config {
  host: string;
  port: number;
  cors: string[];
  secret: string | null;
  redis: string | null;
  /**
   * true when --redis came from a flag, the environment or the config file. false: the default
   * URL, used only when a Redis answers there (else standalone, looking again every few seconds).
   */
  redisExplicit: boolean;
  /** --cluster: separates deployments on one Redis (folded into redisPrefix); null = the unnamed cluster. */
  cluster: string | null;
  /** Write the process id here at start (removed at exit), for `kill -HUP $(cat FILE)`. */
  pidFile: string | null;
  logLevel: LogLevel;
  logFormat: LogFormat;
  roomspaceSecrets: Map<string, string>;
  /** Redis key prefix for roomspace secrets; the secret of `dir` is `<prefix>dir`. */
  secretPrefix: string;
  /** Prefix for ws-emit's own Redis channels and keys: --redis-prefix, then ":<cluster>" when --cluster is set. */
  redisPrefix: string;
  /** Redis channels carrying Flask-SocketIO / python-socketio messages. */
  redisChannels: string[];
  /** Redis channel carrying ws-emit's JSON emit objects. */
  redisJsonChannel: string;
  maxConnections: number;
  maxRoomsPerConnection: number;
  maxBodyBytes: number;
  maxMessageBytes: number;
  backpressureBytes: number;
  heartbeatMs: number;
  joinFailuresPerMinute: number;
  /** Failed roomspace joins per client address per minute, over every connection and transport (loopback exempt). */
  joinFailuresPerAddress: number;
  /** Failed joins per roomspace per minute, from everyone together (no exemption). */
  joinFailuresPerRoomspace: number;
  /** Peers whose forwarded headers name the client ("loopback" and/or IPs); empty = believe no one. */
  trustProxy: string[];
  badFramesPerMinute: number;
  workers: number;
  metricsSecret: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  drainMs: number;
  /** New connections per client IP: at most `burst` at once, refilled at `perSecond`; null = no limit. */
  connectionRate: { perSecond: number; burst: number } | null;
  /** Client addresses the connection rate does not apply to: "loopback" (a local proxy) or exact IPs. */
  connectionRateExempt: string[];
  /** A second listener with only /metrics, /stats, /healthz, /readyz; null = serve them on the main address. */
  metricsAddress: { host: string; port: number } | null;
  /** How often each node sends a canary through its fan-out channel(s). */
  redisCanaryMs: number;
  /** A canary not back within this long marks the node unready and forces a resubscribe. */
  redisCanaryTimeoutMs: number;
  /** How long a roomspace secret read from Redis (or its absence) is cached. */
  secretCacheMs: number;
  /** Redis commands (secret lookups, publishes) fail after this long instead of hanging. */
  redisTimeoutMs: number;
  /** Room partitions (fan-out channels); a node listens to those holding its clients' rooms. */
  redisPartitions: number;
  /** A partition whose last local subscriber left is kept this long (churn does not thrash Redis). */
  redisUnsubscribeDelayMs: number;
  /** With Redis: how often each node writes its /stats snapshot (kept for 3 intervals). */
  statsIntervalMs: number;
  /** Engine.IO: how often the server pings a Socket.IO client. */
  sioPingIntervalMs: number;
  /** Engine.IO: how long to wait for the pong before closing the session. */
  sioPingTimeoutMs: number;
  /** Socket.IO: close a session that has not connected a namespace (`40`) this long after it opened. */
  sioConnectTimeoutMs: number;
  /** Engine.IO: largest HTTP long-polling POST body (engine.io's maxHttpBufferSize). */
  sioMaxHttpBufferBytes: number;
  /** wsify: the key of POST /broadcast?key=… (default: the emit secret). */
  wsifyKey: string | null;
  /** wsify: authorizer webhook consulted before connections and commands. */
  authorizerUrl: string | null;
  authorizerTimeoutMs: number;
  authorizerCacheMs: number;
  /** wsify: interval of the fork's `{"type":"ping"}` text frame to wsify clients; 0 = off. */
  wsifyPingMs: number;
  /** wspush: base64url HMAC-MD5 key for tokens (unset: any 1–64 character token). */
  wspushKey: string | null;
  wspushPrefix: string;
  wspushMaxPerToken: number;
  /** Deprecated alias of `history` (the old SSE-only resume); read only when `history` is not set. */
  sseHistory: number;
  // --- history (issue 13, docs/history.md) ---
  /** Events kept per room for clients that resume; 0 = off (no event ids, no resume). */
  history: number;
  /** Kept events older than this are dropped. */
  historyTtlMs: number;
  /** A repeated `idempotency_key` within this window is answered `duplicate` and not delivered. */
  idempotencyWindowMs: number;
  // --- presence (issue 15): occupancy, presence, lifecycle webhooks (src/engine/occupancy*.ts, src/ops/webhooks.ts) ---
  /** Roomspaces whose rooms keep a member list (by the token's `sub`). */
  presenceRoomspaces: string[];
  /** Push `presence` join/leave events to the members of presence rooms. */
  presenceNotices: boolean;
  /** With Redis: a node silent this long has its occupancy contributions taken out by the others. */
  occupancyLivenessMs: number;
  /** Lifecycle webhooks (room_occupied, room_vacated, member_added, member_removed); null = off. */
  webhookUrl: string | null;
  /** HMAC-SHA256 key signing each webhook body (X-Ws-Emit-Signature). */
  webhookSecret: string | null;
  /** With Redis: a webhook batch taken by a node that died is retried by another after this long. */
  webhookClaimMs: number;
  /** With Redis: keep lifecycle events in the Stream <redisPrefix>:{occ}:events for your own consumers, with or without --webhook-url. */
  webhookStream: boolean;
}

/** Where each setting can come from. `flag` is the kebab-case CLI name. */
interface Setting {
  key: keyof Config;
  flag: string;
  env: string[];
  parse: (raw: string[], where: string) => unknown;
  repeatable?: boolean;
  help: string;
}

const DEFAULTS: Config = {
  host: "0.0.0.0",
  port: 8899,
  cors: ["http://localhost:7788"],
  secret: null,
  // As the original: a local Redis (for Flask-SocketIO's message queue and room-space secrets).
  redis: "redis://localhost:6379/0",
  redisExplicit: false,
  cluster: null,
  pidFile: null,
  logLevel: "info",
  logFormat: "pretty",
  roomspaceSecrets: new Map(),
  secretPrefix: "ws-emit::secret::",
  redisPrefix: "ws-emit",
  redisChannels: ["flask-socketio", "socketio"],
  redisJsonChannel: "ws-emit",
  maxConnections: 100_000,
  maxRoomsPerConnection: 100,
  maxBodyBytes: 1024 * 1024,
  maxMessageBytes: 64 * 1024,
  backpressureBytes: 1024 * 1024,
  heartbeatMs: 25_000,
  joinFailuresPerMinute: 10,
  joinFailuresPerAddress: 30,
  joinFailuresPerRoomspace: 300,
  trustProxy: [],
  badFramesPerMinute: 20,
  workers: 1,
  metricsSecret: null,
  tlsCert: null,
  tlsKey: null,
  drainMs: 10_000,
  connectionRate: { perSecond: 20, burst: 40 },
  connectionRateExempt: ["loopback"],
  metricsAddress: null,
  redisCanaryMs: 3000,
  redisCanaryTimeoutMs: 2000,
  secretCacheMs: 2000,
  redisTimeoutMs: 2000,
  redisPartitions: 64,
  redisUnsubscribeDelayMs: 2000,
  statsIntervalMs: 5000,
  sioPingIntervalMs: 25_000,
  sioPingTimeoutMs: 20_000,
  // As the reference Socket.IO server (connectTimeout).
  sioConnectTimeoutMs: 45_000,
  sioMaxHttpBufferBytes: 1024 * 1024,
  wsifyKey: null,
  authorizerUrl: null,
  authorizerTimeoutMs: 3000,
  authorizerCacheMs: 5000,
  wsifyPingMs: 30_000,
  wspushKey: null,
  wspushPrefix: "example.",
  wspushMaxPerToken: 100,
  sseHistory: 0,
  history: 0,
  historyTtlMs: 5 * 60_000,
  idempotencyWindowMs: 5 * 60_000,
  presenceRoomspaces: [],
  presenceNotices: false,
  occupancyLivenessMs: 10_000,
  webhookUrl: null,
  webhookSecret: null,
  webhookClaimMs: 30_000,
  webhookStream: false,
};

export function defaults(): Config {
  return {
    ...DEFAULTS,
    roomspaceSecrets: new Map(),
    cors: [...DEFAULTS.cors],
    redisChannels: [...DEFAULTS.redisChannels],
    connectionRate: DEFAULTS.connectionRate && { ...DEFAULTS.connectionRate },
    connectionRateExempt: [...DEFAULTS.connectionRateExempt],
    trustProxy: [...DEFAULTS.trustProxy],
    presenceRoomspaces: [...DEFAULTS.presenceRoomspaces],
  };
}

export const SETTINGS: Setting[] = [
  { key: "host", flag: "address", env: ["ADDRESS", "WS_EMIT_ADDRESS"], parse: (r) => parseAddress(last(r)), help: "HOST:PORT to listen on (IPv6: [::1]:8899; port 0 = any free port)" },
  { key: "cors", flag: "cors", env: ["CORS", "WS_EMIT_CORS"], parse: corsList, repeatable: true, help: "allowed browser origins, space-separated or repeated; * = any" },
  { key: "secret", flag: "secret", env: ["SECRET", "WS_EMIT_SECRET"], parse: optStr, help: "secret for POST /emit and admin endpoints (unset: emit from loopback only)" },
  { key: "redis", flag: "redis", env: ["REDIS", "WS_EMIT_REDIS"], parse: redisUrl, help: "Redis URL for Redis ingest, roomspace secrets in Redis and scale-out; none = in memory, one node. Not set: the default is used when a Redis answers there, else standalone until one does" },
  { key: "cluster", flag: "cluster", env: ["WS_EMIT_CLUSTER"], parse: clusterName, help: "cluster name: only nodes with the same name on one Redis form a cluster (unset: one unnamed cluster per Redis)" },
  { key: "pidFile", flag: "pid-file", env: ["WS_EMIT_PID_FILE"], parse: optStr, help: "write the process id to this file (for kill -HUP $(cat FILE)); removed at exit" },
  { key: "logLevel", flag: "log-level", env: ["LOG_LEVEL", "WS_EMIT_LOG_LEVEL"], parse: oneOf(["silent", "error", "warn", "info", "debug", "trace"] as const), help: "silent|error|warn|info|debug|trace" },
  { key: "logFormat", flag: "log-format", env: ["LOG_FORMAT", "WS_EMIT_LOG_FORMAT"], parse: oneOf(["pretty", "json"] as const), help: "pretty|json (JSON lines)" },
  { key: "roomspaceSecrets", flag: "roomspace-secret", env: ["ROOMSPACE_SECRETS", "WS_EMIT_ROOMSPACE_SECRETS"], parse: roomspaceSecrets, repeatable: true, help: "NAME=SECRET for a roomspace (repeatable; env: space-separated)" },
  { key: "secretPrefix", flag: "secret-prefix", env: ["WS_EMIT_SECRET_PREFIX"], parse: str, help: "Redis key prefix of roomspace secrets (redis2websocket: r2ws::room_secret::)" },
  { key: "redisPrefix", flag: "redis-prefix", env: ["WS_EMIT_REDIS_PREFIX"], parse: str, help: "prefix of ws-emit's own Redis channels, to share one Redis between deployments" },
  { key: "redisChannels", flag: "redis-channel", env: ["WS_EMIT_REDIS_CHANNELS"], parse: words, repeatable: true, help: "Flask-SocketIO/python-socketio channels to ingest (repeatable)" },
  { key: "redisJsonChannel", flag: "redis-json-channel", env: ["WS_EMIT_REDIS_JSON_CHANNEL"], parse: str, help: "Redis channel taking JSON emit objects" },
  { key: "maxConnections", flag: "max-connections", env: ["WS_EMIT_MAX_CONNECTIONS"], parse: int(1, 10_000_000), help: "connections per process; more get 503" },
  { key: "maxRoomsPerConnection", flag: "max-rooms", env: ["WS_EMIT_MAX_ROOMS"], parse: int(1, 100_000), help: "rooms one connection may join" },
  { key: "maxBodyBytes", flag: "max-body", env: ["WS_EMIT_MAX_BODY"], parse: size(1024, 64 * 1024 ** 2), help: "largest POST body (e.g. 1m)" },
  { key: "maxMessageBytes", flag: "max-message", env: ["WS_EMIT_MAX_MESSAGE"], parse: size(256, 16 * 1024 ** 2), help: "largest frame a client may send" },
  { key: "backpressureBytes", flag: "max-buffer", env: ["WS_EMIT_MAX_BUFFER"], parse: size(16 * 1024, 256 * 1024 ** 2), help: "bytes buffered for a slow client before it is closed" },
  { key: "heartbeatMs", flag: "heartbeat", env: ["WS_EMIT_HEARTBEAT"], parse: duration(100, 300_000), help: "ping interval; a client silent for two intervals is closed" },
  { key: "joinFailuresPerMinute", flag: "max-join-failures", env: ["WS_EMIT_MAX_JOIN_FAILURES"], parse: int(1, 100_000), help: "failed joins per connection per minute before it is closed" },
  { key: "joinFailuresPerAddress", flag: "max-join-failures-per-address", env: ["WS_EMIT_MAX_JOIN_FAILURES_PER_ADDRESS"], parse: int(1, 1_000_000), help: "failed roomspace joins per client address per minute, all connections and transports together; more get 429 / rate_limited (loopback exempt)" },
  { key: "joinFailuresPerRoomspace", flag: "max-join-failures-per-roomspace", env: ["WS_EMIT_MAX_JOIN_FAILURES_PER_ROOMSPACE"], parse: int(1, 10_000_000), help: "failed joins per roomspace per minute from all clients together; then its secret is not checked until the minute is over" },
  { key: "trustProxy", flag: "trust-proxy", env: ["WS_EMIT_TRUST_PROXY"], parse: rateExempt, repeatable: true, help: 'peers whose X-Forwarded-For / Forwarded / X-Real-IP name the client: "loopback", IPs, or "none" (the default)' },
  { key: "badFramesPerMinute", flag: "max-bad-frames", env: ["WS_EMIT_MAX_BAD_FRAMES"], parse: int(1, 100_000), help: "malformed frames per connection per minute before it is closed" },
  { key: "workers", flag: "workers", env: ["WS_EMIT_WORKERS"], parse: workers, help: "processes sharing the port (needs --redis); auto = one per core" },
  { key: "metricsSecret", flag: "metrics-secret", env: ["WS_EMIT_METRICS_SECRET"], parse: optStr, help: "secret for /metrics and /stats (default: the emit secret)" },
  { key: "tlsCert", flag: "tls-cert", env: ["WS_EMIT_TLS_CERT"], parse: optStr, help: "PEM certificate file (TLS without a proxy; reloaded on SIGHUP)" },
  { key: "tlsKey", flag: "tls-key", env: ["WS_EMIT_TLS_KEY"], parse: optStr, help: "PEM private key file" },
  { key: "connectionRate", flag: "max-connection-rate", env: ["WS_EMIT_MAX_CONNECTION_RATE"], parse: (r) => parseConnectionRate(last(r)), help: "new connections per client IP, e.g. 20/s or 20/s,burst=100 (off: no limit); more get 429" },
  { key: "connectionRateExempt", flag: "connection-rate-exempt", env: ["WS_EMIT_CONNECTION_RATE_EXEMPT"], parse: rateExempt, repeatable: true, help: 'addresses --max-connection-rate ignores: "loopback" (a local proxy, the default), IPs, or "none"' },
  { key: "metricsAddress", flag: "metrics-address", env: ["WS_EMIT_METRICS_ADDRESS"], parse: (r) => (last(r).trim() === "" ? null : parseAddress(last(r))), help: "HOST:PORT of a separate listener for /metrics, /stats, /healthz, /readyz (no secret needed there unless --metrics-secret)" },
  { key: "drainMs", flag: "drain", env: ["WS_EMIT_DRAIN"], parse: duration(0, 600_000), help: "on SIGTERM/SIGINT, close WebSockets (1012) and streams spread over this long, then exit" },
  { key: "redisCanaryMs", flag: "redis-canary", env: ["WS_EMIT_REDIS_CANARY"], parse: duration(100, 60_000), help: "how often each node checks its Redis subscription with a canary" },
  { key: "redisCanaryTimeoutMs", flag: "redis-canary-timeout", env: ["WS_EMIT_REDIS_CANARY_TIMEOUT"], parse: duration(50, 60_000), help: "a canary not back within this (at most --redis-canary) marks the node unready and resubscribes" },
  { key: "secretCacheMs", flag: "secret-cache", env: ["WS_EMIT_SECRET_CACHE"], parse: duration(0, 60_000), help: "how long roomspace secrets read from Redis are cached (0 = no cache)" },
  { key: "redisTimeoutMs", flag: "redis-timeout", env: ["WS_EMIT_REDIS_TIMEOUT"], parse: duration(100, 60_000), help: "Redis commands fail after this long (a join then answers unavailable)" },
  { key: "redisPartitions", flag: "redis-partitions", env: ["WS_EMIT_REDIS_PARTITIONS"], parse: int(1, 4096), help: "room partitions (fan-out channels; sharded on Redis Cluster): a node listens only to those holding its clients' rooms; same on every node" },
  { key: "redisUnsubscribeDelayMs", flag: "redis-unsubscribe-delay", env: ["WS_EMIT_REDIS_UNSUBSCRIBE_DELAY"], parse: duration(0, 600_000), help: "a partition no local client needs any more is left after this long (churn does not thrash Redis)" },
  { key: "statsIntervalMs", flag: "stats-interval", env: ["WS_EMIT_STATS_INTERVAL"], parse: duration(500, 300_000), help: "with --redis: how often each node shares its /stats numbers (kept 3 intervals; /stats then shows the cluster)" },
  { key: "sioPingIntervalMs", flag: "sio-ping-interval", env: ["WS_EMIT_SIO_PING_INTERVAL"], parse: duration(100, 300_000), help: "Socket.IO (Engine.IO) ping interval sent to clients" },
  { key: "sioPingTimeoutMs", flag: "sio-ping-timeout", env: ["WS_EMIT_SIO_PING_TIMEOUT"], parse: duration(100, 300_000), help: "Socket.IO: close a session whose pong is this late" },
  { key: "sioConnectTimeoutMs", flag: "sio-connect-timeout", env: ["WS_EMIT_SIO_CONNECT_TIMEOUT"], parse: duration(100, 600_000), help: "Socket.IO: close a session that has not connected a namespace (sent `40`) within this" },
  { key: "sioMaxHttpBufferBytes", flag: "sio-max-http-buffer", env: ["WS_EMIT_SIO_MAX_HTTP_BUFFER"], parse: size(1024, 64 * 1024 ** 2), help: "Socket.IO: largest long-polling POST body (e.g. 1m)" },
  { key: "wsifyKey", flag: "wsify-key", env: ["WS_EMIT_WSIFY_KEY"], parse: optStr, help: "wsify: key for POST /broadcast?key=… (default: --secret)" },
  { key: "authorizerUrl", flag: "authorizer-url", env: ["WS_EMIT_AUTHORIZER_URL"], parse: httpUrl, help: "wsify: webhook asked before each /ws connection and wsify command" },
  { key: "authorizerTimeoutMs", flag: "authorizer-timeout", env: ["WS_EMIT_AUTHORIZER_TIMEOUT"], parse: duration(100, 60_000), help: "wsify: authorizer call timeout (then: authorizer down)" },
  { key: "authorizerCacheMs", flag: "authorizer-cache", env: ["WS_EMIT_AUTHORIZER_CACHE"], parse: duration(0, 600_000), help: "wsify: how long an authorizer answer is reused" },
  { key: "wsifyPingMs", flag: "wsify-ping", env: ["WS_EMIT_WSIFY_PING"], parse: duration(0, 600_000), help: 'wsify: send the {"type":"ping"} text frame of the wsify fork this often (0: off)' },
  { key: "wspushKey", flag: "wspush-key", env: ["WSPUSH_KEY", "WS_EMIT_WSPUSH_KEY"], parse: wspushKey, help: "wspush: base64url key; tokens must carry its HMAC-MD5" },
  { key: "wspushPrefix", flag: "wspush-prefix", env: ["WS_EMIT_WSPUSH_PREFIX"], parse: str, help: "wspush: Redis PSUBSCRIBE prefix; <prefix>Foo reaches ?token=Foo" },
  { key: "wspushMaxPerToken", flag: "wspush-max-per-token", env: ["WS_EMIT_WSPUSH_MAX_PER_TOKEN"], parse: int(1, 1_000_000), help: "wspush: connections per token (more get 429)" },
  { key: "history", flag: "history", env: ["WS_EMIT_HISTORY"], parse: int(0, 1_000_000), help: "last N events kept per room, so clients of every transport resume after a reconnect (0: off); see docs/history.md" },
  { key: "historyTtlMs", flag: "history-ttl", env: ["WS_EMIT_HISTORY_TTL"], parse: duration(1000, 7 * 24 * 3600_000), help: "kept events older than this are dropped (e.g. 5m)" },
  { key: "idempotencyWindowMs", flag: "idempotency-window", env: ["WS_EMIT_IDEMPOTENCY_WINDOW"], parse: duration(1000, 24 * 3600_000), help: 'an emit repeating an "idempotency_key" within this window is answered duplicate and not delivered' },
  { key: "sseHistory", flag: "sse-history", env: ["WS_EMIT_SSE_HISTORY"], parse: int(0, 1_000_000), help: "deprecated: the same as --history" },
  // presence (issue 15)
  { key: "presenceRoomspaces", flag: "presence-roomspace", env: ["WS_EMIT_PRESENCE_ROOMSPACES"], parse: roomspaceNames, repeatable: true, help: "roomspace whose rooms list their members by the token's sub (GET /rooms/<room>/members; repeatable)" },
  { key: "presenceNotices", flag: "presence-notices", env: ["WS_EMIT_PRESENCE_NOTICES"], parse: onOff, help: 'on|off: push a "presence" event {type:"join"|"leave",sub} to a presence room when a member comes or goes' },
  { key: "occupancyLivenessMs", flag: "occupancy-liveness", env: ["WS_EMIT_OCCUPANCY_LIVENESS"], parse: duration(1000, 600_000), help: "with --redis: a node silent this long stops counting in GET /rooms (its clients are taken out)" },
  { key: "webhookUrl", flag: "webhook-url", env: ["WS_EMIT_WEBHOOK_URL"], parse: httpUrl, help: "POST batched room_occupied/room_vacated/member_added/member_removed events here" },
  { key: "webhookSecret", flag: "webhook-secret", env: ["WS_EMIT_WEBHOOK_SECRET"], parse: optStr, help: "HMAC-SHA256 key signing webhook bodies (header X-Ws-Emit-Signature)" },
  { key: "webhookClaimMs", flag: "webhook-claim", env: ["WS_EMIT_WEBHOOK_CLAIM"], parse: duration(1000, 3_600_000), help: "with --redis: a webhook batch held by a dead node is retried by another after this long" },
  { key: "webhookStream", flag: "webhook-stream", env: ["WS_EMIT_WEBHOOK_STREAM"], parse: onOff, help: "on|off, with --redis: lifecycle events also stay in the Redis Stream <redis-prefix>:{occ}:events for your own XREAD consumers" },
];

/** Roomspace names, space/comma separated or repeated. */
function roomspaceNames(raw: string[]): string[] {
  const names = words(raw);
  for (const n of names) if (!/^[A-Za-z0-9._-]{1,128}$/.test(n)) throw new Error(`"${n.slice(0, 40)}" is not a roomspace name (letters, digits, ".", "_", "-")`);
  return names;
}

function onOff(raw: string[]): boolean {
  const v = last(raw).trim().toLowerCase();
  if (["on", "true", "1", "yes"].includes(v)) return true;
  if (["off", "false", "0", "no", ""].includes(v)) return false;
  throw new Error(`expected on or off, got "${v.slice(0, 20)}"`);
}

export type Sources = {
  /** Flag values as given on the command line, by flag name; repeated flags keep every value. */
  flags: Record<string, string[]>;
  env: Record<string, string | undefined>;
  /** Parsed config file (KEY → value), or null when none was given. */
  file: Record<string, string> | null;
  fileName?: string;
  /** Line number of each key in the config file, for errors. */
  fileLines?: Record<string, number>;
};

/** WS_EMIT_* variables that are not settings: other commands', the build's and the worker supervisor's. */
export const OTHER_ENV = new Set(["WS_EMIT_CONFIG", "WS_EMIT_URL", "WS_EMIT_TOKEN_SECRET", "WS_EMIT_VERSION", "WS_EMIT_WORKER", "WS_EMIT_WORKER_DIR", "WS_EMIT_WORKER_TOKEN", "WS_EMIT_DEFAULT_REDIS_URL"]);
/** Every environment name (and config-file key) of a setting. */
export const ENV_NAMES = new Set(SETTINGS.flatMap((s) => s.env));

export type ConfigResult = { ok: true; config: Config } | { ok: false; issues: string[] };

/** Resolve the configuration. Pure: callers read the file and environment. */
export function resolveConfig(src: Sources): ConfigResult {
  const config = defaults();
  const issues: string[] = [];
  for (const s of SETTINGS) {
    let raw: string[] | undefined;
    let where = "";
    if (src.flags[s.flag]?.length) {
      raw = src.flags[s.flag];
      where = `--${s.flag}`;
    } else {
      const envName = s.env.find((n) => src.env[n] !== undefined);
      if (envName !== undefined) {
        raw = [src.env[envName]!];
        where = `environment variable ${envName}`;
      } else if (src.file) {
        const fileKey = s.env.find((n) => src.file![n] !== undefined);
        if (fileKey !== undefined) {
          raw = [src.file[fileKey]!];
          where = `${fileKey} in ${src.fileName ?? "the config file"}`;
        }
      }
    }
    if (raw === undefined) continue;
    if (s.key === "redis") config.redisExplicit = true;
    try {
      const value = s.parse(raw, where);
      if (s.key === "host") Object.assign(config, value as { host: string; port: number });
      else (config as unknown as Record<string, unknown>)[s.key] = value;
    } catch (e) {
      issues.push(`${where}: ${(e as Error).message}`);
    }
  }
  // Names the user mistyped are errors: a setting silently ignored is worse than a refusal.
  if (src.file)
    for (const k of Object.keys(src.file))
      if (!ENV_NAMES.has(k)) issues.push(`${src.fileName ?? "config file"}${src.fileLines?.[k] ? `:${src.fileLines[k]}` : ""}: unknown key ${k}${didYouMean(k, ENV_NAMES)}`);
  for (const k of Object.keys(src.env))
    if (k.startsWith("WS_EMIT_") && !ENV_NAMES.has(k) && !OTHER_ENV.has(k)) issues.push(`unknown environment variable ${k}${didYouMean(k, [...ENV_NAMES].filter((n) => n.startsWith("WS_EMIT_")))}`);
  // Tests stand a throwaway Redis in for the default one (a fixed port is not theirs to take).
  const stand = src.env.WS_EMIT_DEFAULT_REDIS_URL;
  if (!config.redisExplicit && stand) config.redis = stand;
  if (config.cluster !== null) config.redisPrefix = `${config.redisPrefix}:${config.cluster}`;
  if ((config.tlsCert === null) !== (config.tlsKey === null)) issues.push("--tls-cert and --tls-key must be given together");
  // --sse-history N (deprecated) turns on the history of every transport when --history is not given.
  if (config.history === 0 && config.sseHistory > 0) config.history = config.sseHistory;
  if (config.workers !== 1 && config.redis === null) issues.push("--workers needs --redis (it is none): worker processes fan out through Redis");
  return issues.length ? { ok: false, issues } : { ok: true, config };
}

export { parseEnvFile } from "./env-file.ts";

/** Known flag names (for unknown-flag errors in the CLI). */
export const FLAG_NAMES = new Set(SETTINGS.map((s) => s.flag));
