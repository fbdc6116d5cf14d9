/**
 * Operations: /healthz, /readyz, /metrics, /stats (main and --metrics-address listener),
 * the per-IP connection rate, and the graceful drain of the compiled binary on SIGTERM.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { io } from "socket.io-client";
import { BIN, emit, startWsEmit } from "../helpers/server.ts";
import { openWs, upgradeStatus } from "../helpers/ws.ts";

/** Value of one Prometheus sample (0 when absent). */
function sample(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

async function metricsText(url: string, secret?: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: secret ? { Authorization: `Bearer ${secret}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  return res.text();
}

describe("health, metrics and stats", () => {
  test("/healthz and /readyz answer JSON", async () => {
    await using srv = await startWsEmit([]);
    const h = await fetch(`${srv.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ ok: true });
    const r = await fetch(`${srv.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ready: true, draining: false, engine: "memory", engine_ready: true });
    expect((await fetch(`${srv.url}/readyz`, { method: "POST" })).status).toBe(405);
  });

  test("/metrics needs the secret; counters move with emits, deliveries, joins and refusals", async () => {
    await using srv = await startWsEmit(["--secret", "adm1n", "--roomspace-secret", "dir=S3"]);
    for (const auth of [{}, { Authorization: "Bearer wrong" }] as Array<Record<string, string>>) {
      const res = await fetch(`${srv.url}/metrics`, { headers: auth });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe("forbidden");
    }
    expect((await fetch(`${srv.url}/stats`)).status).toBe(403);

    const before = await metricsText(srv.url, "adm1n");
    const a = await openWs(`${srv.wsUrl}/ws?room=news`);
    await a.next((m) => m.type === "joined");
    a.send({ type: "join", room: "dir::x", secret: "bad", id: 1 });
    expect(await a.next((m) => m.id === 1)).toMatchObject({ type: "error", code: "forbidden" });
    a.send({ type: "join", room: "dir::x", secret: "S3", id: 2 });
    expect(await a.next((m) => m.id === 2)).toMatchObject({ type: "joined" });
    const b = await openWs(`${srv.wsUrl}/ws?room=news`);
    await b.next((m) => m.type === "joined");
    for (let i = 0; i < 3; i++) {
      const r = await emit(srv.url, { event: "e", room: "news", data: i }, { Authorization: "Bearer adm1n" });
      expect(r.body.delivered).toBe(2);
    }
    expect((await emit(srv.url, { room: "news" }, { Authorization: "Bearer adm1n" })).status).toBe(400);
    const after = await metricsText(srv.url, "adm1n");

    const d = (s: string) => sample(after, s) - sample(before, s);
    expect(d('ws_emit_events_in_total{source="http"}')).toBe(3);
    expect(d('ws_emit_events_invalid_total{source="http"}')).toBe(1);
    expect(d("ws_emit_deliveries_total")).toBe(6);
    expect(d('ws_emit_joins_total{result="forbidden"}')).toBe(1);
    expect(d('ws_emit_joins_total{result="ok"}')).toBe(3);
    expect(d("ws_emit_emit_duration_seconds_count")).toBe(3);
    expect(sample(after, 'ws_emit_connections{transport="native"}')).toBe(2);
    expect(sample(after, "ws_emit_rooms")).toBe(2);
    expect(sample(after, "ws_emit_draining")).toBe(0);
    expect(after).toContain("# TYPE ws_emit_emit_duration_seconds histogram");
    expect(after).toContain('ws_emit_emit_duration_seconds_bucket{le="+Inf"}');

    const stats = (await (await fetch(`${srv.url}/stats?secret=adm1n`)).json()) as any;
    expect(stats).toMatchObject({ connections: 2, connections_by_transport: { native: 2 }, rooms: 2, top_rooms: { news: 2, "dir::x": 1 }, events_in: 3, deliveries: 6 });
    expect(stats.rates_1m.events_in_per_s).toBeGreaterThan(0);
    a.close();
    b.close();
  });

  test("--metrics-address: a separate listener, open unless --metrics-secret; main keeps health only", async () => {
    await using srv = await startWsEmit(["--secret", "s", "--metrics-address", "127.0.0.1:0"]);
    const line = await srv.waitForLine(/metrics on /);
    const murl = /metrics on (http:\/\/\S+)\/metrics/.exec(line)![1]!;
    await emit(srv.url, { event: "e", room: "r" }, { Authorization: "Bearer s" });
    expect(sample(await metricsText(murl), 'ws_emit_events_in_total{source="http"}')).toBe(1);
    expect((await fetch(`${murl}/stats`)).status).toBe(200);
    expect((await fetch(`${murl}/readyz`)).status).toBe(200);
    expect((await fetch(`${murl}/emit`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${srv.url}/metrics`, { headers: { Authorization: "Bearer s" } })).status).toBe(404);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);

    await using locked = await startWsEmit(["--metrics-address", "127.0.0.1:0", "--metrics-secret", "m"]);
    const murl2 = /metrics on (http:\/\/\S+)\/metrics/.exec(await locked.waitForLine(/metrics on /))![1]!;
    expect((await fetch(`${murl2}/metrics`)).status).toBe(403);
    await metricsText(murl2, "m");
  });

  test("no secret: /metrics and /stats for local clients only, not for a DNS-rebinding page or through a proxy", async () => {
    await using srv = await startWsEmit([]);
    const port = new URL(srv.url).port;
    for (const path of ["/metrics", "/stats"]) {
      const get = (headers: Record<string, string> = {}) => fetch(`${srv.url}${path}`, { headers });
      expect((await get()).status).toBe(200);
      expect((await get({ Host: `localhost:${port}` })).status).toBe(200);
      // A rebinding page's same-origin GET: its own host name, no Origin header.
      const rebound = await get({ Host: `evil.example:${port}` });
      expect(rebound.status).toBe(403);
      expect(((await rebound.json()) as any).message).toContain("--metrics-secret");
      // A local proxy forwarding for a remote client.
      expect((await get({ "X-Forwarded-For": "203.0.113.5" })).status).toBe(403);
      expect((await get({ Origin: "http://evil.example" })).status).toBe(403);
    }
  });
});

describe("signals", () => {
  test("SIGHUP without TLS is harmless (systemctl reload must not kill the service)", async () => {
    await using srv = await startWsEmit([]);
    srv.proc.kill("SIGHUP");
    await srv.waitForLine(/SIGHUP: no --tls-cert\/--tls-key configured: nothing to reload/);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    expect(srv.proc.exitCode).toBeNull();
  });
});

describe("per-IP connection rate", () => {
  test("too many new connections from one address get 429 with Retry-After, before the upgrade", async () => {
    // 1/minute refills too slowly to matter during the test; the burst of 2 is all there is.
    await using srv = await startWsEmit(["--secret", "s", "--max-connection-rate", "1/m,burst=2", "--connection-rate-exempt", "none"]);
    const a = await openWs(`${srv.wsUrl}/ws`);
    const b = await openWs(`${srv.wsUrl}/ws`);
    const res = await fetch(`${srv.url}/ws`, {
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await res.json()) as { error: string }).error).toBe("rate_limited");
    // Streams are connections too, whatever the transport behind the path.
    expect((await fetch(`${srv.url}/events`, { headers: { Accept: "text/event-stream" } })).status).toBe(429);
    // Emits and health checks are not connections.
    expect((await emit(srv.url, { event: "e" }, { Authorization: "Bearer s" })).status).toBe(200);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    const m = await metricsText(srv.url, "s");
    expect(sample(m, 'ws_emit_connections_refused_total{reason="rate_limit"}')).toBe(2);
    a.close();
    b.close();
  });

  test("loopback (a local proxy) is exempt by default", async () => {
    await using srv = await startWsEmit(["--max-connection-rate", "1/m,burst=1"]);
    const socks = [];
    for (let i = 0; i < 4; i++) socks.push(await openWs(`${srv.wsUrl}/ws`));
    for (const s of socks) s.close();
  });
});

describe("graceful drain of the compiled binary", () => {
  const haveBin = existsSync(BIN);

  test.skipIf(!haveBin)("SIGTERM: readyz 503, new upgrades 503, every client gets 1012, exit 0 within the grace", async () => {
    const graceMs = 4000;
    const srv = await startWsEmit(["--drain", `${graceMs}ms`], { bin: true });
    try {
      const clients = [];
      for (let i = 0; i < 4; i++) {
        const c = await openWs(`${srv.wsUrl}/ws?room=r`);
        await c.next((m) => m.type === "joined");
        clients.push(c);
      }
      const closes = clients.map((c) => c.closed);
      srv.proc.kill("SIGTERM");
      await srv.waitForLine(/draining 4 WebSockets/);
      // Closes are spread over 80% of the grace: the node is still up and says so.
      const ready = await fetch(`${srv.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, draining: true, reason: "draining" });
      const up = await upgradeStatus(`${srv.url}/ws`);
      expect(up.status).toBe(503);
      expect(up.body.error).toBe("draining");
      const all = await Promise.all(closes);
      for (const c of all) expect(c).toEqual({ code: 1012, reason: "server restarting; reconnect" });
      const code = await Promise.race([srv.proc.exited, Bun.sleep(graceMs + 4000).then(() => "still running")]);
      expect(code).toBe(0);
      await srv.waitForLine(/stopped \(4 connections closed\)/);
    } finally {
      await srv.stop();
    }
  }, 20_000);

  test.skipIf(!haveBin)("every transport is drained: native 1012, Socket.IO over WebSocket and long-polling, SSE ended; exit 0", async () => {
    const srv = await startWsEmit(["--drain", "1s"], { bin: true });
    try {
      const native = await openWs(`${srv.wsUrl}/ws`);
      const sse = await fetch(`${srv.url}/sse?room=r`, { headers: { Accept: "text/event-stream" } });
      expect(sse.status).toBe(200);
      // The whole SSE body: it ends (instead of hanging) when the drain ends the stream.
      const sseBody = sse.text();
      const sioWs = io(srv.url, { transports: ["websocket"], reconnection: false });
      const sioPoll = io(srv.url, { transports: ["polling"], reconnection: false });
      await Promise.all([sioWs, sioPoll].map((s) => new Promise<void>((res) => s.on("connect", () => res()))));
      const gone = [sioWs, sioPoll].map((s) => new Promise<string>((res) => s.on("disconnect", (reason) => res(reason))));
      srv.proc.kill("SIGTERM");
      await srv.waitForLine(/draining 2 WebSockets and 2 streams/);
      expect((await native.closed).code).toBe(1012);
      expect(await sseBody).toEndWith(": draining\n\n");
      const reasons = await Promise.all(gone);
      // Both learn the server went away (and would reconnect, to another node, if allowed to).
      for (const r of reasons) expect(["transport close", "io server disconnect", "transport error"]).toContain(r);
      expect(await srv.proc.exited).toBe(0);
      await srv.waitForLine(/stopped \(4 connections closed\)/);
    } finally {
      await srv.stop();
    }
  }, 15_000);

  test.skipIf(!haveBin)("a second signal exits at once", async () => {
    const srv = await startWsEmit(["--drain", "60s"], { bin: true });
    try {
      const clients = [];
      for (let i = 0; i < 3; i++) clients.push(await openWs(`${srv.wsUrl}/ws`));
      srv.proc.kill("SIGTERM");
      await srv.waitForLine(/draining 3 WebSockets/);
      srv.proc.kill("SIGINT");
      expect(await srv.proc.exited).toBe(1);
      await srv.waitForLine(/SIGINT again: exiting now/);
      // Whoever had not been closed yet just loses the connection.
      for (const c of clients) expect([1006, 1012]).toContain((await c.closed).code);
    } finally {
      await srv.stop();
    }
  }, 15_000);
});
