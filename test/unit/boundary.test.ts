import { expect, test } from "bun:test";
import { createBoundary, describe as describeError } from "../../src/ops/boundary.ts";

function fakeLogAndMetrics() {
  const lines: string[] = [];
  const counts = new Map<string, number>();
  return {
    lines,
    counts,
    log: { error: (m: string) => lines.push(m) } as any,
    metrics: { inc: (_n: string, l?: Record<string, string>) => counts.set(l!.where!, (counts.get(l!.where!) ?? 0) + 1) } as any,
  };
}

test("guard returns the value, or undefined after counting and logging the exception", () => {
  const f = fakeLogAndMetrics();
  const b = createBoundary(f.log, f.metrics);
  expect(b.guard("x", () => 42)).toBe(42);
  let cleaned = false;
  expect(b.guard("x", () => { throw new TypeError("boom"); }, () => (cleaned = true))).toBeUndefined();
  expect(cleaned).toBe(true);
  expect(f.counts.get("x")).toBe(1);
  expect(f.lines[0]).toContain("internal error in x: TypeError: boom");
});

test("an exception in the cleanup is contained and counted separately", () => {
  const f = fakeLogAndMetrics();
  const b = createBoundary(f.log, f.metrics);
  b.guard("y", () => { throw new Error("a"); }, () => { throw new Error("b"); });
  expect(f.counts.get("y")).toBe(1);
  expect(f.counts.get("y/cleanup")).toBe(1);
});

test("logs at most one line per place per 10 s, then says how many were not logged", () => {
  const f = fakeLogAndMetrics();
  let t = 0;
  const b = createBoundary(f.log, f.metrics, () => t);
  for (let i = 0; i < 1000; i++) b.report("z", new Error("again"));
  expect(f.lines.length).toBe(1);
  expect(f.counts.get("z")).toBe(1000);
  t = 10_001;
  b.report("z", new Error("again"));
  expect(f.lines.length).toBe(2);
  expect(f.lines[1]).toContain("999 more since the last report");
});

test("a long message quoting client data is cut, and non-errors are named by type only", () => {
  const msg = describeError(new Error("x".repeat(100_000)));
  expect(msg.length).toBeLessThan(600);
  expect(describeError({ toString: 1 })).toBe("non-error thrown (object)");
});
