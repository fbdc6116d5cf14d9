/**
 * The against-the-server slice of `npm run fuzz` that `npm test` runs: one small batch of
 * mutated frames / requests per protocol against the real process (the compiled binary when
 * built); after each batch /healthz answers within 1 s and RSS stays under 1 GB.
 */
import { existsSync } from "node:fs";
import { describe, expect, test } from "bun:test";
import { BIN } from "../helpers/server.ts";
import { fuzzServer, PROTOCOLS } from "./server-fuzz.ts";

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
const ready = Object.entries(PROTOCOLS).filter(([, p]) => !p.awaiting?.());
const waiting = Object.entries(PROTOCOLS).filter(([, p]) => p.awaiting?.());

describe("fuzz: every protocol against the running server (slice)", () => {
  test(`${ready.map(([n]) => n).join(", ")}: no crash, /healthz within 1 s, RSS bounded`, async () => {
    const r = await fuzzServer({ batches: 1, batchSize: Number(process.env.FUZZ_BATCH ?? 40), secondsPerProtocol: 10, rssLimitMb: 1024, bin: existsSync(BIN), seed: SEED, only: ready.map(([n]) => n), skipAwaiting: true });
    expect(r.reports.length).toBe(ready.length);
    // A protocol whose live probe shows a known defect fixed on another branch is named, not fuzzed.
    for (const p of r.reports.filter((x) => x.awaiting)) console.warn(`fuzz slice: ${p.protocol} skipped, awaiting: ${p.awaiting}`);
    const fuzzed = r.reports.filter((p) => !p.awaiting);
    for (const p of fuzzed) expect({ protocol: p.protocol, crashes: p.crashes, failure: p.failure }).toEqual({ protocol: p.protocol, crashes: 0, failure: null });
    expect(fuzzed.every((p) => p.sent > 0)).toBe(true);
  }, 120_000);
  for (const [name, p] of waiting) test.skip(`${name} (awaiting: ${p.awaiting!()})`, () => {});
});
