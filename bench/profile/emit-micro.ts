/**
 * The JS cost of one POST /emit without the HTTP server: handleEmit() on a synthetic Request
 * against what bun-raw does with the same Request (req.json, stringify, Response.json).
 *   bun bench/profile/emit-micro.ts [iterations=200000]
 * Both arms build the Request the same way, so the difference is ws-emit's own overhead.
 */
import { defaults } from "../../src/core/config.ts";
import type { Ctx } from "../../src/server/context.ts";
import { createMemoryEngine } from "../../src/engine/memory.ts";
import { createHub } from "../../src/core/hub.ts";
import { handleEmit } from "../../src/ingest/http.ts";
import { createLogger } from "../../src/ops/log.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import { nativeFormat } from "../../src/protocols/native/codec.ts";
import { sioFormat } from "../../src/protocols/socketio/codec.ts";
import { createSseEnvelopeFormat, createSseFormat } from "../../src/protocols/sse/codec.ts";
import { wsifyFormat } from "../../src/protocols/compat/wsify/codec.ts";
import { webdisFormat } from "../../src/protocols/compat/webdis/codec.ts";
import { wspushFormat, wspushSseFormat } from "../../src/protocols/compat/wspush/codec.ts";

const N = Number(process.argv[2] ?? 200_000);
const body = '{"event":"update","room":"empty","data":{"time":1639178370,"file":"a.txt"}}';
const mkReq = () => new Request("http://127.0.0.1:8899/emit", { method: "POST", body, headers: { "Content-Type": "application/json", "Content-Length": String(body.length), Host: "127.0.0.1:8899" } });

const config = defaults();
const metrics = createMetrics();
const deliveries = metrics.counter("ws_emit_deliveries_total");
const hub = createHub(() => undefined, () => {}, { countDeliveries: (n) => deliveries.inc(n) });
for (const f of [nativeFormat, sioFormat, createSseFormat(), createSseEnvelopeFormat(), wsifyFormat, webdisFormat, wspushFormat, wspushSseFormat]) hub.addFormat(f);
const engine = createMemoryEngine(hub, new Map());
const ctx = { config, log: createLogger("error", "json"), hub, engine, metrics } as unknown as Ctx;
const peer = () => "127.0.0.1";

async function raw(req: Request) {
  const m = (await req.json()) as { event: string; room: string; data?: unknown };
  const frame = JSON.stringify({ type: "event", room: m.room, event: m.event, data: m.data });
  return Response.json({ ok: true, delivered: frame.length > 0 ? 0 : 1, rooms: [m.room] });
}

async function run(name: string, fn: (r: Request) => Promise<Response>) {
  for (let i = 0; i < 20_000; i++) await fn(mkReq()); // warm up
  const t = performance.now();
  for (let i = 0; i < N; i++) await fn(mkReq());
  const us = ((performance.now() - t) * 1000) / N;
  return us;
}
const baseline = await run("request only", async (r) => new Response(null, { status: r.method === "POST" ? 200 : 500 }));
const rows: string[] = [];
for (let round = 0; round < 3; round++) {
  const a = await run("raw", raw);
  const b = await run("handleEmit", (r) => handleEmit(ctx, r, peer));
  rows.push(`round ${round + 1}: bun-raw logic ${a.toFixed(2)} µs, handleEmit ${b.toFixed(2)} µs (Request+Response alone ${baseline.toFixed(2)} µs)`);
}
console.log(rows.join("\n"));
