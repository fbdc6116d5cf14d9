import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compare a presented secret with the expected one in constant time.
 * Both are hashed first so that neither the content nor the length leaks through timing.
 * An empty or missing expected secret never matches (the seed: "empty secret = nobody may join").
 */
export function secretMatches(presented: unknown, expected: string | null | undefined): boolean {
  if (typeof presented !== "string" || !expected) return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `Authorization: Bearer <s>` → s. */
export function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1]!.trim() : null;
}
