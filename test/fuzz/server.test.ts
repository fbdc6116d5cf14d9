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
const names = Object.keys(PROTOCOLS);

describe("fuzz: every protocol against the running server (slice)", () => {
  test(`${names.join(", ")}: no crash, /healthz within 1 s, RSS bounded`, async () => {
    const r = await fuzzServer({ batches: 1, batchSize: Number(process.env.FUZZ_BATCH ?? 40), secondsPerProtocol: 10, rssLimitMb: 1024, bin: existsSync(BIN), seed: SEED });
    expect(r.reports.length).toBe(names.length);
    for (const p of r.reports) expect({ protocol: p.protocol, crashes: p.crashes, failure: p.failure }).toEqual({ protocol: p.protocol, crashes: 0, failure: null });
    expect(r.reports.every((p) => p.sent > 0)).toBe(true);
  }, 120_000);
});
