/**
 * wsify's authorizer webhook: POST a command as JSON; 200 = allowed, 5xx or unreachable =
 * the authorizer is down, anything else = not authorized. Calls time out, and answers are
 * cached briefly by request body so a reconnect storm does not become a webhook storm.
 */
import { createHash } from "node:crypto";

export type AuthorizerVerdict = "allowed" | "denied" | "down";

export interface Authorizer {
  check(command: unknown): Promise<AuthorizerVerdict>;
}

export function createAuthorizer(url: string, timeoutMs: number, cacheMs: number, now: () => number = Date.now): Authorizer {
  const cache = new Map<string, { verdict: AuthorizerVerdict; until: number }>();
  const MAX_CACHE = 10_000;
  return {
    async check(command) {
      const body = JSON.stringify(command);
      // Keyed by a digest, not the body: 10,000 entries of client frames up to --max-message
      // each would be gigabytes. A cryptographic hash: a collision would reuse another verdict.
      const key = createHash("sha256").update(body).digest("base64");
      const hit = cache.get(key);
      if (hit && hit.until > now()) return hit.verdict;
      let verdict: AuthorizerVerdict;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body,
          signal: AbortSignal.timeout(timeoutMs),
          redirect: "manual",
        });
        await res.arrayBuffer().catch(() => {});
        verdict = res.status === 200 ? "allowed" : res.status >= 500 ? "down" : "denied";
      } catch {
        verdict = "down";
      }
      // Only definite answers are cached; "down" is retried on the next call.
      if (verdict !== "down" && cacheMs > 0) {
        if (cache.size >= MAX_CACHE) cache.clear();
        cache.set(key, { verdict, until: now() + cacheMs });
      }
      return verdict;
    },
  };
}

/** The `connect` command wsify sends before accepting a connection. */
export function connectCommand(req: Request, url: URL): unknown {
  const headers: Record<string, string[]> = {};
  req.headers.forEach((v, k) => {
    const name = k.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
    (headers[name] ??= []).push(v);
  });
  const query: Record<string, string[]> = {};
  url.searchParams.forEach((v, k) => (query[k] ??= []).push(v));
  return { command: "connect", args: { headers, query } };
}
