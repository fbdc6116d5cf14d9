import { describe, expect, test } from "bun:test";
import { createJoinLimiter } from "../../src/auth/join-limit.ts";

describe("join-failure limiter", () => {
  test("per address: the limit, the retry time, the next window", () => {
    const l = createJoinLimiter(3, 1000);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) {
      expect(l.blocked("203.0.113.1", "a", t0)).toBeNull();
      l.failed("203.0.113.1", "a", t0);
    }
    expect(l.blocked("203.0.113.1", "a", t0 + 1000)).toEqual({ scope: "address", retryAfter: 59 });
    expect(l.blocked("203.0.113.1", "b", t0 + 1000)).toEqual({ scope: "address", retryAfter: 59 });
    expect(l.blocked("203.0.113.2", "a", t0 + 1000)).toBeNull();
    expect(l.blocked("203.0.113.1", "a", t0 + 60_000)).toBeNull();
  });
  test("loopback is exempt per address, not per roomspace", () => {
    const l = createJoinLimiter(2, 5);
    for (let i = 0; i < 5; i++) l.failed("127.0.0.1", "vault", 0);
    expect(l.blocked("127.0.0.1", "other", 1)).toBeNull();
    expect(l.blocked("127.0.0.1", "vault", 1)).toEqual({ scope: "roomspace", retryAfter: 60 });
    expect(l.blocked("198.51.100.1", "vault", 1)?.scope).toBe("roomspace");
  });
  test("memory stays bounded under many addresses", () => {
    const l = createJoinLimiter(1, 1_000_000_000);
    for (let i = 0; i < 250_000; i++) l.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, "s", i);
    expect(l.size()).toBeLessThanOrEqual(100_001);
  });
});
