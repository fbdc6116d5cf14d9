/**
 * The small slice of `npm run fuzz` that `npm test` runs: every parser that takes outside input,
 * FUZZ_RUNS cases each (default 300; the full run is scripts/fuzz.ts), a fresh seed every run
 * (FUZZ_SEED replays one). A parser must return ok or a clean error, never throw, within the
 * time bound, and an ok result must keep the parser's invariants (test/fuzz/targets.ts).
 */
import { describe, expect, test } from "bun:test";
import { runTarget } from "./harness.ts";
import { TARGETS } from "./targets.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;

describe("fuzz: parsers of outside input (slice)", () => {
  for (const t of TARGETS) {
    test(t.name, () => {
      const r = runTarget(t, RUNS, SEED);
      expect({ failure: r.failure, cases: r.cases }).toEqual({ failure: null, cases: RUNS });
    }, 60_000);
  }
});
