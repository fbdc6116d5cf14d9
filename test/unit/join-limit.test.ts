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
    for (let i = 0; i < 120_000; i++) l.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, "s", i);
    expect(l.size()).toBeLessThanOrEqual(100_001);
  });
});

describe("what counts as a guess, and --trust-proxy", () => {
  test("a wrong secret and a token with a wrong signature are guesses; the rest is not", async () => {
    const { createHub } = await import("../../src/core/hub.ts");
    const { createMemoryEngine } = await import("../../src/engine/memory.ts");
    const { checkJoin } = await import("../../src/auth/rooms.ts");
    const { signToken } = await import("../../src/auth/token.ts");
    const engine = createMemoryEngine(createHub(() => undefined), new Map([["dir", "S"]]));
    const exp = Math.floor(Date.now() / 1000) + 60;
    const guess = async (secret: unknown, token?: unknown) => {
      const c = await checkJoin(engine, "dir::a", secret, token);
      return c.ok ? "ok" : c.guess ? "guess" : c.code;
    };
    expect(await guess("wrong")).toBe("guess");
    expect(await guess(undefined, signToken({ rooms: ["dir::a"], exp }, "not-S"))).toBe("guess");
    expect(await guess("S")).toBe("ok");
    expect(await guess(undefined, signToken({ rooms: ["dir::a"], exp }, "S"))).toBe("ok");
    expect(await guess(undefined)).toBe("forbidden"); // no secret sent: not a guess
    expect(await guess(undefined, "not.a-token")).toBe("forbidden"); // malformed: not a guess
    expect(await guess(undefined, signToken({ rooms: ["dir::a"], exp: 1 }, "S"))).toBe("forbidden"); // expired, signed right
  });
  test("--trust-proxy / WS_EMIT_TRUST_PROXY", async () => {
    const { resolveConfig } = await import("../../src/core/config.ts");
    const r = (flags: Record<string, string[]>, env: Record<string, string> = {}) => resolveConfig({ flags, env, file: null });
    expect(r({})).toMatchObject({ ok: true, config: { trustProxy: [] } });
    expect(r({ "trust-proxy": ["loopback", "10.0.0.2"] })).toMatchObject({ ok: true, config: { trustProxy: ["loopback", "10.0.0.2"] } });
    expect(r({}, { WS_EMIT_TRUST_PROXY: "none" })).toMatchObject({ ok: true, config: { trustProxy: [] } });
    const bad = r({ "trust-proxy": ["proxy.example"] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues[0]).toContain("--trust-proxy");
  });
});
