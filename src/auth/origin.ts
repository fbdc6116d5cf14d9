/**
 * Origin policy from `--cors`. Browsers do not apply CORS to WebSockets, so the server
 * checks Origin itself before any upgrade. Requests without Origin (curl, backends,
 * native apps) are allowed: they are not subject to cross-site hijacking.
 */
export interface OriginPolicy {
  /** true when the request may proceed. */
  allows(origin: string | null): boolean;
  /** Value for Access-Control-Allow-Origin, or null to send no CORS headers. */
  allowHeader(origin: string | null): string | null;
}

export function createOriginPolicy(cors: string[]): OriginPolicy {
  const any = cors.includes("*");
  const set = new Set(cors.map(normalizeOrigin));
  const allows = (origin: string | null) => origin === null || any || set.has(normalizeOrigin(origin));
  return {
    allows,
    allowHeader: (origin) => (origin !== null && allows(origin) ? origin : null),
  };
}

/** Origins compare case-insensitively on scheme and host; a trailing slash is ignored. */
export function normalizeOrigin(o: string): string {
  return o.trim().replace(/\/+$/, "").toLowerCase();
}
