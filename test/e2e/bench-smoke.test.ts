/**
 * Smoke test of the benchmark's load generator (bench/loadgen.ts) against ws-emit alone:
 * 20 subscribers and 200 messages per transport, every one delivered, one valid JSON line.
 * Speed itself is measured by `npm run bench`, never asserted here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import type { Result, Spec } from "../../bench/loadgen.ts";
import { ROOT, startWsEmit, type Started } from "../helpers/server.ts";

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit();
});
afterAll(async () => {
  await srv.stop();
});

async function loadgen(spec: Spec): Promise<Result> {
  const lg = Bun.spawn([process.execPath, resolve(ROOT, "bench/loadgen.ts"), JSON.stringify(spec)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const out = await Promise.race([
    (async () => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const c of lg.stdout) {
        buf += dec.decode(c, { stream: true });
        if (buf.includes("\n")) return buf;
      }
      return buf;
    })(),
    lg.exited.then(async () => `exited ${lg.exitCode}: ${await new Response(lg.stderr).text()}`),
  ]);
  lg.stdin.end(); // the load generator exits once its stdin closes
  await lg.exited;
  const line = out.split("\n")[0]!;
  expect(line.startsWith("{")).toBe(true);
  return JSON.parse(line) as Result;
}

const transports = [
  { name: "native WebSocket", protocol: "native", subPath: "/ws?room={room}" },
  { name: "Socket.IO WebSocket", protocol: "sio", subPath: "/socket.io/?EIO=4&transport=websocket" },
  { name: "SSE", protocol: "sse", subPath: "/sse?room={room}" },
] as const;

describe("bench load generator against ws-emit", () => {
  for (const t of transports)
    for (const rooms of ["one", "each"] as const)
      test(`${t.name}, ${rooms === "one" ? "one room" : "a room each"}: 200 messages, none lost`, async () => {
        const r = await loadgen({
          mode: "deliver",
          protocol: t.protocol,
          base: srv.url,
          subPath: t.subPath,
          rooms,
          subscribers: 20,
          messages: 200,
          maxSeconds: 10,
          window: 40,
          batch: 10,
          concurrency: 1,
          publish: { kind: "http-batch", url: `${srv.url}/emit` },
          pids: [srv.proc.pid],
          connectConcurrency: 20,
          connectSeconds: 10,
          settleMs: 0,
        });
        const expected = rooms === "one" ? 200 * 20 : 200;
        expect(r).toMatchObject({ joined: 20, connectErrors: 0, published: 200, publishErrors: 0, expected, delivered: expected, lost: 0, extra: 0, disconnects: 0 });
        expect(r.deliveriesPerSec).toBeGreaterThan(0);
        expect(r.latencyMs!.p99).toBeGreaterThanOrEqual(r.latencyMs!.p50);
        expect(r.rssJoinedKiB).toBeGreaterThan(0);
      });

  test("idle mode: holds the connections and reports server memory", async () => {
    const r = await loadgen({
      mode: "idle",
      protocol: "native",
      base: srv.url,
      subPath: "/ws?room={room}",
      rooms: "one",
      subscribers: 50,
      messages: 0,
      maxSeconds: 0,
      window: 1,
      batch: 1,
      concurrency: 1,
      pids: [srv.proc.pid],
      connectConcurrency: 50,
      connectSeconds: 10,
      settleMs: 100,
    });
    expect(r).toMatchObject({ joined: 50, connectErrors: 0 });
    expect(r.rssJoinedKiB).toBeGreaterThan(0);
  });
});
