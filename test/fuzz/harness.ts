/** Runs one fuzz target with fast-check: cases, crashes, invariant violations, slowest case. */
import fc from "fast-check";
import type { Target } from "./targets.ts";

export interface TargetReport {
  name: string;
  source: string;
  cases: number;
  /** 0 or 1: fast-check stops at the first failure and shrinks it. */
  crashes: number;
  violations: number;
  slowestMs: number;
  seed: number;
  /** The shrunk failing input and what went wrong, when there was one. */
  failure: string | null;
}

/** Longest a parser may take on one input (a stall is a failure too). */
export const DEFAULT_TIME_BOUND_MS = Number(process.env.FUZZ_TIME_BOUND_MS ?? 2000);

class Violation extends Error {}

/** The built-in prototypes a parser must never change (prototype pollution from `__proto__` keys). */
const PROTOS: Array<[string, object]> = [["Object.prototype", Object.prototype], ["Array.prototype", Array.prototype], ["Function.prototype", Function.prototype]];
const snapshot = () => PROTOS.map(([, p]) => new Map(Reflect.ownKeys(p).map((k) => [k, Object.getOwnPropertyDescriptor(p, k)?.value])));
const PRISTINE = snapshot();

/** Which built-in prototype property changed since this module loaded, or null. */
export function pollution(): string | null {
  for (let i = 0; i < PROTOS.length; i++) {
    const [name, p] = PROTOS[i]!;
    const before = PRISTINE[i]!;
    const keys = Reflect.ownKeys(p);
    if (keys.length !== before.size) return `${name} gained ${keys.filter((k) => !before.has(k)).map(String).join(", ")}`;
    for (const k of keys) if (Object.getOwnPropertyDescriptor(p, k)?.value !== before.get(k)) return `${name}.${String(k)} was replaced`;
  }
  return null;
}

/** Show a failing input briefly (inputs may be megabytes). */
function preview(x: unknown): string {
  let s: string;
  if (x instanceof Uint8Array) s = `bytes(${x.length}) ${Buffer.from(x.subarray(0, 80)).toString("hex")}`;
  else {
    try {
      s = JSON.stringify(x) ?? String(x);
    } catch {
      s = "(unprintable)";
    }
  }
  return s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s;
}

export function runTarget(t: Target, numRuns: number, seed: number = Date.now() ^ (Math.random() * 2 ** 31), timeBoundMs = DEFAULT_TIME_BOUND_MS): TargetReport {
  let cases = 0;
  let slowest = 0;
  let kind: "crash" | "violation" | "stall" | null = null;
  const prop = fc.property(t.arb, (input) => {
    cases++;
    // Polluted before the parser ran: the generator's fault, not the parser's (say so).
    const before = pollution();
    if (before !== null) throw new Error(`the fuzz generator changed a built-in prototype: ${before}`);
    const t0 = performance.now();
    let v: string | null;
    try {
      v = t.run(input);
    } catch (e) {
      kind = "crash";
      throw e;
    }
    const ms = performance.now() - t0;
    const polluted = pollution();
    if (polluted !== null) {
      kind = "violation";
      throw new Violation(`prototype pollution: ${polluted}`);
    }
    slowest = Math.max(slowest, ms);
    if (v !== null) {
      kind = "violation";
      throw new Violation(v);
    }
    if (ms > timeBoundMs) {
      kind = "stall";
      throw new Violation(`took ${ms.toFixed(0)} ms (bound ${timeBoundMs} ms)`);
    }
  });
  const r = fc.check(prop, { numRuns, seed, endOnFailure: true });
  const failure = r.failed ? `${kind}: ${(r.errorInstance as Error)?.message?.slice(0, 300) ?? "?"} on input ${preview(r.counterexample?.[0])} (seed ${seed}, path ${r.counterexamplePath})` : null;
  return {
    name: t.name,
    source: t.source,
    cases: r.numRuns,
    crashes: r.failed && kind !== "violation" ? 1 : 0,
    violations: r.failed && kind === "violation" ? 1 : 0,
    slowestMs: Math.round(slowest * 10) / 10,
    seed,
    failure,
  };
}
