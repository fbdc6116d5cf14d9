/**
 * Smoke test of the scale benches (they need dist/ws-emit): bench/scale-out.ts with two nodes
 * on a real redis-server and targeted traffic, tiny sizes. Nothing may be lost, and with rooms
 * placed by partition each node must receive about half of the emits from Redis (interest:
 * with every node hearing everything each share would be 1). bench/scale-100k.ts with a few
 * hundred subscribers over two load-generator processes and two workers: all joined, nothing
 * lost. Speed is measured by the benches, never asserted here.
 */
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { ROOT } from "../helpers/server.ts";

async function runJson(args: string[]): Promise<any[]> {
  const p = Bun.spawn([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (p.exitCode !== 0) throw new Error(`exit ${p.exitCode}: ${err.slice(-2000)}`);
  return out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

test("scale-out: two nodes, targeted traffic: each receives about half, nothing lost", async () => {
  const [r] = await runJson([resolve(ROOT, "bench/scale-out.ts"), "--nodes", "2", "--modes", "targeted", "--subs", "200", "--messages", "2000", "--seconds", "20", "--procs", "1"]);
  expect(r.lost).toBe(0);
  expect(r.received).toBe(2000);
  expect(r.perNode.length).toBe(2);
  for (const n of r.perNode) {
    expect(n.share).toBeGreaterThan(0.3);
    expect(n.share).toBeLessThan(0.7);
  }
}, 60_000);

test("scale-100k harness: two workers, two load-generator processes on their own source addresses", async () => {
  const [r] = await runJson([resolve(ROOT, "bench/scale-100k.ts"), "--conns", "400", "--procs", "2", "--workers", "2", "--broadcasts", "3", "--sustain", "1"]);
  expect([r.joined, r.connectErrors, r.lost, r.disconnects]).toEqual([400, 0, 0, 0]);
  expect(r.broadcastMs.n).toBe(3);
}, 60_000);
