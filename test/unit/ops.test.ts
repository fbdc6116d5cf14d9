import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { install, unitFor } from "../../src/commands/install-service.ts";
import { parseConnectionRate, resolveConfig } from "../../src/core/config.ts";
import { createConnectionRateLimit, isConnectionStart } from "../../src/ops/connection-rate.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import { createRateTracker } from "../../src/core/rates.ts";
import { closeSchedule } from "../../src/ops/drain.ts";

describe("per-IP connection rate", () => {
  test("burst, then refused with the wait until the next token; refills over time", () => {
    let t = 0;
    const lim = createConnectionRateLimit({ perSecond: 2, burst: 3 }, [], { now: () => t });
    expect([lim.take("10.0.0.1"), lim.take("10.0.0.1"), lim.take("10.0.0.1")]).toEqual([null, null, null]);
    expect(lim.take("10.0.0.1")).toBeCloseTo(0.5);
    // Another address has its own bucket.
    expect(lim.take("10.0.0.2")).toBeNull();
    t = 500; // one token back
    expect(lim.take("10.0.0.1")).toBeNull();
    expect(lim.take("10.0.0.1")).not.toBeNull();
    t = 100_000; // never more than the burst
    for (let i = 0; i < 3; i++) expect(lim.take("10.0.0.1")).toBeNull();
    expect(lim.take("10.0.0.1")).not.toBeNull();
  });

  test("exemptions: loopback by name, exact addresses; null rate = no limit", () => {
    const lim = createConnectionRateLimit({ perSecond: 1, burst: 1 }, ["loopback", "192.0.2.7"], { now: () => 0 });
    for (let i = 0; i < 5; i++) {
      expect(lim.take("127.0.0.1")).toBeNull();
      expect(lim.take("::1")).toBeNull();
      expect(lim.take("192.0.2.7")).toBeNull();
    }
    expect(lim.take("192.0.2.8")).toBeNull();
    expect(lim.take("192.0.2.8")).not.toBeNull();
    const off = createConnectionRateLimit(null, [], { now: () => 0 });
    for (let i = 0; i < 100; i++) expect(off.take("192.0.2.8")).toBeNull();
  });

  test("the table of addresses is bounded", () => {
    const lim = createConnectionRateLimit({ perSecond: 1, burst: 1 }, [], { now: () => 0, maxTracked: 100 });
    for (let i = 0; i < 1000; i++) lim.take(`10.0.${i >> 8}.${i & 255}`);
    expect(lim.size).toBe(100);
  });

  test("what counts as a new connection", () => {
    const req = (path: string, headers: Record<string, string> = {}, method = "GET") => {
      const r = new Request(`http://x${path}`, { method, headers });
      return isConnectionStart(r, new URL(r.url));
    };
    expect(req("/ws", { Upgrade: "websocket" })).toBe(true);
    expect(req("/socket.io/?EIO=4&transport=websocket", { Upgrade: "WebSocket" })).toBe(true);
    expect(req("/events", { Accept: "text/event-stream" })).toBe(true);
    expect(req("/socket.io/?EIO=4&transport=polling")).toBe(true);
    expect(req("/socket.io/?EIO=4&transport=polling&sid=abc")).toBe(false);
    expect(req("/socket.io/?EIO=4&transport=websocket&sid=abc", { Upgrade: "websocket" })).toBe(false);
    expect(req("/ws?EIO=4&sid=abc", { Upgrade: "websocket" })).toBe(true);
    expect(req("/emit", { "Content-Type": "application/json" }, "POST")).toBe(false);
    expect(req("/metrics")).toBe(false);
  });

  test("--max-connection-rate syntax and errors", () => {
    expect(parseConnectionRate("20/s")).toEqual({ perSecond: 20, burst: 40 });
    expect(parseConnectionRate("20")).toEqual({ perSecond: 20, burst: 40 });
    expect(parseConnectionRate("120/m")).toEqual({ perSecond: 2, burst: 4 });
    expect(parseConnectionRate("5/s,burst=100")).toEqual({ perSecond: 5, burst: 100 });
    expect(parseConnectionRate("off")).toBeNull();
    expect(parseConnectionRate("0")).toBeNull();
    expect(() => parseConnectionRate("fast")).toThrow("expected a rate like 20/s");
    const r = resolveConfig({ flags: { "max-connection-rate": ["lots"], "connection-rate-exempt": ["loopback", "not-an-ip!"] }, env: {}, file: null });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.join("\n")).toContain("--max-connection-rate");
      expect(r.issues.join("\n")).toContain("--connection-rate-exempt");
    }
    const ok = resolveConfig({ flags: { "connection-rate-exempt": ["none"], "metrics-address": ["127.0.0.1:9100"] }, env: {}, file: null });
    if (!ok.ok) throw new Error(ok.issues.join());
    expect(ok.config.connectionRateExempt).toEqual([]);
    expect(ok.config.metricsAddress).toEqual({ host: "127.0.0.1", port: 9100 });
  });
});

describe("drain schedule", () => {
  test("closes spread over the window, in order, one per slot", () => {
    let k = 0;
    const rnd = () => [0.9, 0.1, 0.5, 0.0, 0.99][k++ % 5]!;
    const s = closeSchedule(5, 1000, rnd);
    expect(s).toHaveLength(5);
    for (let i = 0; i < 5; i++) {
      expect(s[i]!).toBeGreaterThanOrEqual(i * 200);
      expect(s[i]!).toBeLessThan((i + 1) * 200);
      if (i > 0) expect(s[i]!).toBeGreaterThanOrEqual(s[i - 1]!);
    }
    expect(closeSchedule(1, 1000)).toEqual([0]);
    expect(closeSchedule(3, 0).every((x) => x === 0)).toBe(true);
  });
});

describe("metrics and rates", () => {
  test("total sums every label set; the text format has HELP/TYPE and labels", () => {
    const m = createMetrics();
    m.inc("ws_emit_events_in_total", { source: "http" }, 3);
    m.inc("ws_emit_events_in_total", { source: "redis" }, 2);
    m.inc("ws_emit_joins_total", { result: "forbidden" });
    expect(m.total("ws_emit_events_in_total")).toBe(5);
    const text = m.render();
    expect(text).toContain("# TYPE ws_emit_events_in_total counter");
    expect(text).toContain('ws_emit_events_in_total{source="redis"} 2');
    expect(text).toContain('ws_emit_joins_total{result="forbidden"} 1');
  });

  test("bound counters and histograms share the series of inc/observe; histogram text format", () => {
    const m = createMetrics();
    const c = m.counter("ws_emit_events_in_total", { source: "http" });
    c.inc();
    m.inc("ws_emit_events_in_total", { source: "http" }, 2);
    expect(m.get("ws_emit_events_in_total", { source: "http" })).toBe(3);
    const h = m.histogram("ws_emit_emit_duration_seconds");
    h.observe(0.003);
    m.observe("ws_emit_emit_duration_seconds", 2);
    const lines = m.render().split("\n").filter((l) => l.startsWith("ws_emit_emit_duration_seconds"));
    expect(lines).toEqual([
      ...["0.0005", "0.001", "0.0025"].map((le) => `ws_emit_emit_duration_seconds_bucket{le="${le}"} 0`),
      ...["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1"].map((le) => `ws_emit_emit_duration_seconds_bucket{le="${le}"} 1`),
      'ws_emit_emit_duration_seconds_bucket{le="+Inf"} 2',
      "ws_emit_emit_duration_seconds_sum 2.003",
      "ws_emit_emit_duration_seconds_count 2",
    ]);
    expect(m.total("ws_emit_emit_duration_seconds")).toBe(0);
  });

  test("per-second rates over the last minute of samples", () => {
    let t = 0;
    let n = 0;
    const r = createRateTracker({ events: () => n }, { now: () => t, timer: false });
    for (let s = 1; s <= 90; s++) {
      t = s * 1000;
      n += s <= 30 ? 100 : 10; // 100/s for 30 s, then 10/s
      r.sample();
    }
    // The last 60 s: 60 samples of 10/s.
    expect(r.rates(60).events).toBe(10);
    expect(r.rates(10).events).toBe(10);
  });
});

describe("install-service (in a staging root)", () => {
  test("installs binary, env seed and unit; keeps an existing env file; idempotent", async () => {
    const root = mkdtempSync(join(tmpdir(), "ws-emit-install-"));
    const bin = join(root, "fake-ws-emit");
    writeFileSync(bin, "#!/bin/sh\necho fake\n");
    const ran: string[][] = [];
    const run = async (c: string[]) => (ran.push(c), 0);
    const first = await install({ destdir: root, prefix: "/opt/ws", binary: bin, dryRun: false, start: true }, run);
    expect(first.at(-1)).toContain("not running systemctl: DESTDIR is set");
    expect(ran).toEqual([]);
    expect(statSync(join(root, "opt/ws/bin/ws-emit")).mode & 0o777).toBe(0o755);
    const env = join(root, "etc/default/ws-emit");
    expect(readFileSync(env, "utf8")).toContain('ADDRESS="0.0.0.0:8899"');
    expect(statSync(env).mode & 0o777).toBe(0o600);
    const unit = readFileSync(join(root, "etc/systemd/system/ws-emit.service"), "utf8");
    expect(unit).toContain("ExecStart=/opt/ws/bin/ws-emit\n");
    expect(unit).toBe(unitFor("/opt/ws"));

    writeFileSync(env, 'SECRET="mine"\n');
    const again = await install({ destdir: root, prefix: "/opt/ws", binary: bin, dryRun: false, start: true }, run);
    expect(again).toContain(`${env} exists: kept as it is`);
    expect(again.some((l) => l.endsWith("ws-emit.service is up to date"))).toBe(true);
    expect(readFileSync(env, "utf8")).toBe('SECRET="mine"\n');
  });

  test("dry run changes nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "ws-emit-install-"));
    const bin = join(root, "b");
    writeFileSync(bin, "x");
    const lines = await install({ destdir: join(root, "r"), prefix: "/usr/local", binary: bin, dryRun: true, start: true });
    expect(lines.filter((l) => l.startsWith("would ")).length).toBe(3);
    expect(existsSync(join(root, "r"))).toBe(false);
  });

});
