/** "Did you mean" and the error cap. */
import { describe, expect, test } from "bun:test";
import { capLines, closest, editDistance } from "../../src/core/suggest.ts";

describe("closest", () => {
  const flags = ["address", "cors", "secret", "redis", "max-rooms", "max-body", "redis-prefix"];
  test("typos within reach get the closest name", () => {
    expect(closest("adress", flags)).toBe("address");
    expect(closest("max-room", flags)).toBe("max-rooms");
    expect(closest("SECERT", flags)).toBe("secret");
  });
  test("a name that ends a longer one (a prefix left out) is that one", () => {
    expect(closest("MAX_ROOMS", ["ADDRESS", "WS_EMIT_MAX_ROOMS", "WS_EMIT_MAX_BODY"])).toBe("WS_EMIT_MAX_ROOMS");
  });
  test("nothing close: no suggestion", () => {
    expect(closest("frobnicate", flags)).toBeNull();
    expect(closest("x", flags)).toBeNull();
  });
  test("edit distance is bounded for hostile lengths", () => {
    expect(editDistance("a".repeat(100_000), "b")).toBe(100_000);
  });
});

test("capLines keeps ten and counts the rest", () => {
  expect(capLines(["a", "b"])).toEqual(["a", "b"]);
  const many = Array.from({ length: 25 }, (_, i) => `e${i}`);
  expect(capLines(many)).toEqual([...many.slice(0, 10), "… and 15 more"]);
});
