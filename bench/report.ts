/** The markdown tables and the targets, from the runs' JSON records. */
import { readFileSync, writeFileSync } from "node:fs";
import type { Result } from "./loadgen.ts";

export interface Row extends Partial<Result> {
  scenario: string;
  peer: string;
  transport: string;
  ingest: string;
  subscribers: number;
  /** Which repetition of this configuration. */
  rep?: number | string;
  /** HTTP ingest (wrk). */
  requestsPerSec?: number;
  non2xx?: number;
  wrkLatencyMs?: { p50: number; p99: number };
  wrkCpuPct?: number;
  quietWaitS?: number;
  otherCpuBeforePct?: number;
  error?: string;
  skipped?: string;
}

export interface Target {
  name: string;
  goal: string;
  value: string;
  pass: boolean | null;
}

const f = (x: number | undefined, d = 0) => (x === undefined || Number.isNaN(x) ? "–" : x.toLocaleString("en", { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : undefined);
const fx = (r: number | undefined) => (r === undefined ? "–" : `${r.toFixed(2)}×`);

export const DELIVERY = ["broadcast", "fanout-large", "targeted"];

function find(rows: Row[], scenario: string, peer: string, transport: string, ingest = "http"): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.peer === peer && r.transport === transport && r.ingest === ingest && !r.error && !r.skipped);
}

export function tables(rows: Row[]): string {
  const out: string[] = [];
  const del = rows.filter((r) => DELIVERY.includes(r.scenario));
  if (del.length) {
    out.push("### Delivery (publish → every subscriber)", "");
    out.push("| scenario | peer | transport | ingest | subs | delivered / expected | lost | deliveries/s | ratio | publish/s | p50 ms | p99 ms | max ms | server KiB/conn | server CPU | loadgen CPU | other CPU |");
    out.push("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const r of del) {
      if (r.error || r.skipped) {
        out.push(`| ${r.scenario} | ${r.peer} | ${r.transport} | ${r.ingest} | ${r.subscribers} | ${r.skipped ? `skipped: ${r.skipped}` : `error: ${r.error!.split("\n")[0]}`} |||||||||||`);
        continue;
      }
      const raw = find(rows, r.scenario, "bun-raw", "ws");
      const nchanSse = find(rows, r.scenario, "nchan", "sse");
      let rel = r.peer === "bun-raw" ? "1.00× raw" : raw ? `${fx(ratio(r.deliveriesPerSec, raw.deliveriesPerSec))} raw` : "–";
      if (r.transport === "sse" && r.peer !== "nchan" && nchanSse) rel = `${fx(ratio(r.deliveriesPerSec, nchanSse.deliveriesPerSec))} nchan-sse`;
      const joinedNote = r.joined !== undefined && r.joined < r.subscribers ? ` (${r.joined} joined)` : "";
      out.push(
        `| ${r.scenario} | ${r.peer} | ${r.transport} | ${r.ingest} | ${r.subscribers}${joinedNote} | ${f(r.delivered)} / ${f(r.expected)} | ${f(r.lost)} | ${f(r.deliveriesPerSec)} | ${rel} | ${f(r.publishPerSec)} | ${f(r.latencyMs?.p50, 1)} | ${f(r.latencyMs?.p99, 1)} | ${f(r.latencyMs?.max, 1)} | ${f(r.rssPerConnKiB, 1)} | ${f(r.serverCpuPct)}% | ${f(r.loadgenCpuPct)}% | ${f(r.otherCpuPct)}% |`,
      );
    }
    out.push("");
  }
  const idle = rows.filter((r) => r.scenario === "idle" || r.scenario === "idle-max");
  if (idle.length) {
    out.push("### Idle connections (server memory)", "");
    out.push("| scenario | peer | transport | connections held | KiB/conn | ratio | server RSS before → after | connect s |");
    out.push("|---|---|---|--:|--:|--:|--:|--:|");
    for (const r of idle) {
      if (r.error || r.skipped) {
        out.push(`| ${r.scenario} | ${r.peer} | ${r.transport} | ${r.subscribers} | ${r.skipped ? `skipped: ${r.skipped}` : `error: ${r.error!.split("\n")[0]}`} ||||`);
        continue;
      }
      const raw = find(rows, "idle", "bun-raw", "ws");
      out.push(
        `| ${r.scenario} | ${r.peer} | ${r.transport} | ${f(r.joined)} of ${f(r.subscribers)} | ${f(r.rssPerConnKiB, 1)} | ${raw ? `${fx(ratio(r.rssPerConnKiB, raw.rssPerConnKiB))} raw` : "–"} | ${f((r.rssBeforeKiB ?? 0) / 1024, 1)} → ${f((r.rssJoinedKiB ?? 0) / 1024, 1)} MiB | ${f(r.connectSeconds, 1)} |`,
      );
    }
    out.push("");
  }
  const ing = rows.filter((r) => r.scenario === "http-ingest");
  if (ing.length) {
    out.push("### HTTP ingest (wrk POSTing one emit to an empty room)", "");
    out.push("| peer | endpoint | requests/s | ratio | p50 ms | p99 ms | non-2xx | server CPU | wrk CPU | other CPU |");
    out.push("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const r of ing) {
      if (r.error || r.skipped) {
        out.push(`| ${r.peer} | ${r.transport} | ${r.skipped ? `skipped: ${r.skipped}` : `error: ${r.error!.split("\n")[0]}`} ||||||`);
        continue;
      }
      const raw = find(rows, "http-ingest", "bun-raw", "POST /emit");
      out.push(
        `| ${r.peer} | ${r.transport} | ${f(r.requestsPerSec)} | ${raw ? `${fx(ratio(r.requestsPerSec, raw.requestsPerSec))} raw` : "–"} | ${f(r.wrkLatencyMs?.p50, 2)} | ${f(r.wrkLatencyMs?.p99, 2)} | ${f(r.non2xx)} | ${f(r.serverCpuPct)}% | ${f(r.wrkCpuPct)}% | ${f(r.otherCpuPct)}% |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}

/** One row per configuration: the best of its repetitions (most deliveries or requests per second, least memory). */
export function best(rows: Row[]): Row[] {
  const score = (r: Row) =>
    r.error || r.skipped ? -Infinity : r.scenario === "http-ingest" ? (r.requestsPerSec ?? 0) : r.scenario.startsWith("idle") ? -(r.rssPerConnKiB ?? 0) : (r.deliveriesPerSec ?? 0);
  const byKey = new Map<string, Row>();
  for (const r of rows) {
    const k = `${r.scenario}|${r.peer}|${r.transport}|${r.ingest}`;
    const b = byKey.get(k);
    if (!b || score(r) > score(b)) byKey.set(k, r);
  }
  return [...byKey.values()];
}

/** `rows`: the best per configuration; `all`: every run (for losses). */
export function targets(rows: Row[], all: Row[], idleMaxNote: string): Target[] {
  const t: Target[] = [];
  /** a's metric over b's, with the CPU other jobs used during each run when it was notable. */
  const cmp = (name: string, goal: string, a: Row | undefined, b: Row | undefined, metric: (r: Row) => number | undefined, ok: (r: number) => boolean) => {
    const r = a && b ? ratio(metric(a), metric(b)) : undefined;
    const busy = [a?.otherCpuPct ?? 0, b?.otherCpuPct ?? 0];
    const note = r !== undefined && Math.max(...busy) >= 50 ? ` (other CPU ${busy[0]}% / ${busy[1]}%)` : "";
    t.push({ name, goal, value: fx(r) + note, pass: r === undefined ? null : ok(r) });
  };
  const dps = (r: Row) => r.deliveriesPerSec;
  for (const s of ["broadcast", "fanout-large"]) {
    const raw = find(rows, s, "bun-raw", "ws");
    cmp(`${s}: native WS deliveries/s vs bun-raw`, "≥ 0.9×", find(rows, s, "ws-emit", "native-ws"), raw, dps, (r) => r >= 0.9);
    cmp(`${s}: Socket.IO WS deliveries/s vs bun-raw`, "≥ 0.8×", find(rows, s, "ws-emit", "sio-ws"), raw, dps, (r) => r >= 0.8);
    cmp(`${s}: SSE deliveries/s vs nchan SSE`, "≥ 1.5×", find(rows, s, "ws-emit", "sse"), find(rows, s, "nchan", "sse"), dps, (r) => r >= 1.5);
  }
  cmp("fanout-large: p99 latency (native WS) vs bun-raw", "≤ 1.25×", find(rows, "fanout-large", "ws-emit", "native-ws"), find(rows, "fanout-large", "bun-raw", "ws"), (r) => r.latencyMs?.p99, (r) => r <= 1.25);
  cmp("idle: KiB/conn (native WS) vs bun-raw", "≤ 1.3×", find(rows, "idle", "ws-emit", "native-ws"), find(rows, "idle", "bun-raw", "ws"), (r) => r.rssPerConnKiB, (r) => r <= 1.3);
  const rawIngest = find(rows, "http-ingest", "bun-raw", "POST /emit");
  const rps = (r: Row) => r.requestsPerSec;
  cmp("HTTP ingest requests/s vs bun-raw", "≥ 0.8×", find(rows, "http-ingest", "ws-emit", "POST /emit"), rawIngest, rps, (r) => r >= 0.8);
  cmp("(nchan HTTP ingest vs bun-raw, for reference)", "≈ 0.85×", find(rows, "http-ingest", "nchan", "POST /pub"), rawIngest, rps, () => true);
  t[t.length - 1]!.pass = null;
  for (const s of DELIVERY)
    cmp(`${s}: Redis ingest vs HTTP ingest deliveries/s (native WS)`, "≥ 0.8×", find(rows, s, "ws-emit", "native-ws", "redis"), find(rows, s, "ws-emit", "native-ws"), dps, (r) => r >= 0.8);
  const ours = all.filter((r) => r.peer === "ws-emit" && DELIVERY.includes(r.scenario) && !r.skipped);
  const lost = ours.reduce((a, r) => a + (r.error ? 1 : (r.lost ?? 0) + (r.joined !== undefined && r.joined < r.subscribers ? 1 : 0)), 0);
  t.push({ name: "zero lost messages in every ws-emit delivery run", goal: "0", value: ours.length ? `${lost} lost over ${ours.length} runs` : "–", pass: ours.length ? lost === 0 : null });
  const max = rows.find((r) => r.scenario === "idle-max" && !r.error && !r.skipped);
  t.push({
    name: "idle connections held by one ws-emit process",
    goal: "100,000",
    value: max ? `${f(max.joined)} (RSS ${f((max.rssJoinedKiB ?? 0) / 1024, 0)} MiB)${idleMaxNote ? `: ${idleMaxNote}` : ""}` : "–",
    pass: max ? (max.joined ?? 0) >= 100_000 : null,
  });
  return t;
}

export function targetTable(t: Target[]): string {
  const out = ["### Targets", "", "| target | goal | this run | |", "|---|---|--:|---|"];
  for (const x of t) out.push(`| ${x.name} | ${x.goal} | ${x.value} | ${x.pass === null ? (x.value === "–" ? "not measured" : "") : x.pass ? "pass" : "**miss**"} |`);
  return out.join("\n") + "\n";
}

/** Put the machine line and a run's markdown (headings one level down) between the README's markers. */
export function embedInReadme(path: string, machine: string, md: string): void {
  const between = (t: string, tag: string, body: string) =>
    t.replace(new RegExp(`<!-- ${tag} -->[\\s\\S]*?<!-- /${tag} -->`), () => `<!-- ${tag} -->\n${body}\n<!-- /${tag} -->`);
  const demoted = md.replace(/^(#+) /gm, "#$1 ");
  writeFileSync(path, between(between(readFileSync(path, "utf8"), "machine", machine), "latest", demoted.trim()));
}
