/**
 * The webhook sender against a real HTTP receiver (Bun.serve in this process) with the in-memory
 * queue: batching, retries until a 2xx, the signature headers, the bounded queue.
 */
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { createMemoryWebhookQueue, signWebhook, startWebhookSender } from "../../src/ops/webhooks.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import { createLogger } from "../../src/ops/log.ts";

const log = createLogger("silent", "pretty");

describe("webhook sender", () => {
  test("fails twice, then delivers every event once, in order, signed", async () => {
    let calls = 0;
    const bodies: Array<{ body: string; ts: string; sig: string }> = [];
    let wake: () => void = () => {};
    const got = new Promise<void>((r) => (wake = r));
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const body = await req.text();
        if (++calls <= 2) return new Response("busy", { status: 503 });
        bodies.push({ body, ts: req.headers.get("x-ws-emit-timestamp")!, sig: req.headers.get("x-ws-emit-signature")! });
        wake();
        return new Response(null, { status: 200 });
      },
    });
    const metrics = createMetrics();
    const queue = createMemoryWebhookQueue(metrics);
    const sender = startWebhookSender({ url: `http://127.0.0.1:${server.port}/`, secret: "k", queue, log, metrics });
    try {
      queue.push([
        { type: "room_occupied", room: "a" },
        { type: "member_added", room: "a", sub: "u" },
      ]);
      queue.push([{ type: "room_vacated", room: "b" }]);
      await got;
      const [{ body, ts, sig }] = bodies as [(typeof bodies)[0]];
      const events = (JSON.parse(body) as { events: Array<{ id: string; type: string; room: string; sub?: string }> }).events;
      expect(events.map((e) => [e.type, e.room, e.sub])).toEqual([
        ["room_occupied", "a", undefined],
        ["member_added", "a", "u"],
        ["room_vacated", "b", undefined],
      ]);
      expect(new Set(events.map((e) => e.id)).size).toBe(3);
      expect(sig).toBe(`sha256=${createHmac("sha256", "k").update(`${ts}.${body}`).digest("hex")}`);
      expect(sig).toBe(signWebhook("k", Number(ts), body));
      await sender.close(5000); // returns once the batch in flight is done (acknowledged and counted)
      expect(metrics.get("ws_emit_webhook_deliveries_total", { result: "error" })).toBe(2);
      expect(metrics.get("ws_emit_webhook_events_total")).toBe(3);
    } finally {
      await sender.close();
      server.stop(true);
    }
  });

  test("the in-memory queue is bounded: the oldest go first, counted", async () => {
    const metrics = createMetrics();
    const q = createMemoryWebhookQueue(metrics, 3);
    q.push(["a", "b", "c", "d", "e"].map((room) => ({ type: "room_occupied" as const, room })));
    expect((await q.take(10, 0)).map((e) => e.room)).toEqual(["c", "d", "e"]);
    expect(metrics.get("ws_emit_webhook_queue_dropped_total")).toBe(2);
    expect(q.waiting()).toBe(0);
  });
});
