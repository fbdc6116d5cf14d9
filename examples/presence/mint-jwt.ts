// Mint a ws-emit join token as a standard JWT with jose (npm i jose); Node, Bun or Deno.
// Usage: bun mint-jwt.ts SECRET SUB ROOM [ROOM...]   (docs/presence.md; run by test/e2e/jwt.test.ts)
import { SignJWT } from "jose";

export function wsEmitJwt(secret: string, rooms: string[], sub: string, ttl = "1h"): Promise<string> {
  return new SignJWT({ rooms })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret));
}

if (import.meta.main) {
  const [secret, sub, ...rooms] = process.argv.slice(2);
  console.log(await wsEmitJwt(secret!, rooms, sub!));
}
