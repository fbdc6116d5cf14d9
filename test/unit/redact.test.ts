import { describe, expect, test } from "bun:test";
import { parseRedisTarget, redact } from "../../src/core/redis-url.ts";

describe("redact: no part of a Redis password reaches a log", () => {
  test.each([
    ["redis://:p@ss_X@host:6379/0", "p@ss_X", "redis://:***@host:6379/0"],
    ["redis://user:p@ss:w/rd@host/0", "p@ss:w/rd", "redis://user:***@host/0"],
    ["redis://host/0?password=X7secret", "X7secret", "redis://host/0?password=***"],
    ["redis://host/0?db=1&Password=X7secret&x=1", "X7secret", "redis://host/0?db=1&Password=***&x=1"],
    ["rediss+cluster://app:h@rd@a:1,b:2", "h@rd", "rediss+cluster://app:***@a:1,b:2"],
    ["redis://onlysecret@host", "onlysecret", "redis://***@host"],
    // Found by npm run fuzz: an "@" in a query password ended the user info there.
    ["redis://host/0?password=Q}.,O]+?1]w@=,UXpZ", "Q}.,O]+?1]w@=,UXpZ", "redis://host/0?password=***"],
  ])("%s", (url, secret, shown) => {
    const r = redact(url);
    expect(r).toBe(shown);
    // No fragment of the password survives (every 3-character piece of it is gone).
    for (let i = 0; i + 3 <= secret.length; i++) expect(r.includes(secret.slice(i, i + 3)) && !shown.includes(secret.slice(i, i + 3))).toBe(false);
  });
  test("URLs without a password are unchanged", () => {
    expect(redact("redis://localhost:6379/0")).toBe("redis://localhost:6379/0");
    expect(redact("redis+cluster://a:1,b:2")).toBe("redis+cluster://a:1,b:2");
  });
  test("parse errors quote the URL redacted", () => {
    const r = parseRedisTarget("http://:p@ss_X@host/0?password=Y9");
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).not.toContain("ss_X");
      expect(r.error).not.toContain("Y9");
    }
  });
});
