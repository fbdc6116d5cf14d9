/**
 * `npm run fuzz`: every parser of outside input in-process (FUZZ_RUNS cases each, default
 * 100,000), then every protocol against the running binary (FUZZ_SERVER_BATCHES batches of
 * FUZZ_BATCH inputs each, at most FUZZ_SERVER_SECONDS per protocol). Prints Markdown tables
 * (docs/reliability.md holds the last full run's) and exits 1 on any crash, stall or violation.
 *
 *   npm run fuzz                          full run (a few minutes; runs under nice -n 10)
 *   FUZZ_RUNS=2000 npm run fuzz -- --parsers   a quick in-process pass
 *   FUZZ_SEED=123 npm run fuzz            replay a seed printed by a failure
 *   npm run fuzz -- --json out.json       also write the figures as JSON
 */
import { existsSync, writeFileSync } from "node:fs";
import { BIN } from "../test/helpers/server.ts";
import { runTarget, type TargetReport } from "../test/fuzz/harness.ts";
import { fuzzServer } from "../test/fuzz/server-fuzz.ts";
import { TARGETS } from "../test/fuzz/targets.ts";

const num = (name: string, d: number) => (process.env[name] !== undefined ? Number(process.env[name]) : d);
const args = process.argv.slice(2);
const onlyParsers = args.includes("--parsers");
const onlyServer = args.includes("--server");
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined;
const runs = num("FUZZ_RUNS", 100_000);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
let failed = false;

const started = Date.now();
const parserReports: Array<TargetReport & { seconds: number }> = [];
if (!onlyServer) {
  console.log(`| parser | module | cases | crashes | invariant violations | slowest case | seconds |\n|---|---|---:|---:|---:|---:|---:|`);
  for (const t of TARGETS) {
    const t0 = Date.now();
    const r = { ...runTarget(t, runs, seed), seconds: Math.round((Date.now() - t0) / 100) / 10 };
    parserReports.push(r);
    if (r.failure) failed = true;
    console.log(`| ${r.name} | ${r.source} | ${r.cases.toLocaleString("en")} | ${r.crashes} | ${r.violations} | ${r.slowestMs} ms | ${r.seconds} |`);
  }
  for (const r of parserReports) if (r.failure) console.log(`\n${r.name}: ${r.failure}`);
}

let server: Awaited<ReturnType<typeof fuzzServer>> | null = null;
if (!onlyParsers) {
  const bin = existsSync(BIN);
  if (!bin) console.log("\n(no dist/ws-emit: run `bun scripts/build.ts` to fuzz the binary; fuzzing the source instead)");
  server = await fuzzServer({
    batches: num("FUZZ_SERVER_BATCHES", 25),
    batchSize: num("FUZZ_BATCH", 200),
    secondsPerProtocol: num("FUZZ_SERVER_SECONDS", 25),
    rssLimitMb: num("FUZZ_RSS_MB", 1024),
    bin,
    seed,
  });
  console.log(`\nagainst ${bin ? "dist/ws-emit" : "src/cli.ts"}: RSS ${server.rssStartMb.toFixed(0)} MB at start, ${server.rssMaxMb.toFixed(0)} MB at most\n`);
  console.log(`| protocol | batches | inputs sent | server crashes | slowest /healthz | 5xx answers | outcomes |\n|---|---:|---:|---:|---:|---:|---|`);
  for (const r of server.reports) {
    if (r.failure) failed = true;
    const fivexx = Object.entries(r.outcomes).filter(([k]) => /^5\d\d$/.test(k)).reduce((a, [, n]) => a + n, 0);
    const outcomes = Object.entries(r.outcomes).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(", ");
    console.log(`| ${r.protocol} | ${r.batches} | ${r.sent.toLocaleString("en")} | ${r.crashes} | ${r.slowestHealthMs} ms | ${fivexx} | ${outcomes} |`);
  }
  for (const r of server.reports) if (r.failure) console.log(`\n${r.protocol}: ${r.failure}`);
}

console.log(`\n${failed ? "FAILED" : "ok"}: ${Math.round((Date.now() - started) / 1000)} s`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ runs, parsers: parserReports, server }, null, 2));
process.exit(failed ? 1 : 0);
