/**
 * Every transport behind `--workers auto` (one worker per core, no sticky proxy): native
 * WebSocket, SSE, Socket.IO with the client's defaults (polling, then the upgrade, relayed when
 * it lands on the other worker), Socket.IO polling-only, wsify and wspush clients, each on a
 * fresh TCP connection (so on either worker), get one emit exactly once; when they leave, no
 * connection or relayed session is left behind on any worker.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { emit, startWsEmit, until, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, recorder } from "../helpers/sio.ts";
import { openEventSource } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";
import type { Socket } from "socket.io-client";

let redis: RedisServer;
let srv: Started;
let workers = 0;
beforeAll(async () => {
  redis = await startRedis();
  srv = await startWsEmit(["--redis", redis.url, "--workers", "auto", "--redis-canary", "500ms", "--drain", "300ms"]);
  const line = await srv.waitForLine(/"workers":\d+/);
  workers = Number(/"workers":(\d+)/.exec(line)![1]);
  // Every worker subscribed before anything is emitted.
  let from = 0;
  for (let i = 0; i < workers; i++) from = srv.lines.indexOf(await srv.waitForLine(/redis fan-out healthy/, 10_000, from)) + 1;
});
afterAll(async () => {
  await srv?.stop();
  await redis?.[Symbol.asyncDispose]();
});

/** /stats of every worker (fresh connections until each pid answered; bounded). */
async function statsByWorker(): Promise<any[]> {
  const seen = new Map<number, any>();
  const u = new URL(srv.url);
  for (let i = 0; i < 200 && seen.size < workers; i++) {
    let text = "";
    await new Promise<void>((resolve, reject) => {
      Bun.connect({
        hostname: u.hostname,
        port: Number(u.port),
        socket: {
          open: (s) => void s.write(`GET /stats HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`),
          data: (_s, d) => void (text += new TextDecoder().decode(d)),
          close: () => resolve(),
          error: (_s, e) => reject(e),
        },
      }).catch(reject);
    });
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    seen.set(body.pid, body);
  }
  return [...seen.values()];
}

test("every transport gets an emit once, whichever worker each connection reaches; nothing is left behind", async () => {
  expect(workers).toBeGreaterThanOrEqual(2);
  const natives = await Promise.all(Array.from({ length: 6 }, () => openWs(`${srv.wsUrl}/ws?room=t`)));
  for (const n of natives) await n.next((m) => m.type === "joined");
  const streams = Array.from({ length: 6 }, () => openEventSource(`${srv.url}/sse?room=t`, ["hello", "mark"]));
  for (const s of streams) await s.opened;
  const sio: Socket[] = [];
  for (let i = 0; i < 6; i++) {
    const s = await connectSio(srv.url);
    // Wait for the upgrade (the client's default), relayed or not.
    if (s.io.engine.transport.name !== "websocket") await new Promise((r) => s.io.engine.once("upgrade", r));
    expect(await emitAck(s, "join", { room: "t" })).toEqual({ ok: true });
    sio.push(s);
  }
  for (let i = 0; i < 4; i++) {
    const s = await connectSio(srv.url, { transports: ["polling"] });
    expect(await emitAck(s, "join", { room: "t" })).toEqual({ ok: true });
    sio.push(s);
  }
  const wsify = await Promise.all(Array.from({ length: 4 }, () => openWs(`${srv.wsUrl}/ws`)));
  for (const c of wsify) {
    c.send({ command: "join", args: { channel: "t" } });
    // No reply to a wsify join; an unknown command's error comes back after it.
    c.send({ command: "sync", args: {} });
    await c.next((m) => m.code === "bad_request");
  }
  const wspush = await Promise.all(Array.from({ length: 4 }, () => openWs(`${srv.wsUrl}/wspush?token=tok`)));

  expect(sio.slice(0, 6).every((s) => s.io.engine.transport.name === "websocket")).toBe(true);
  const hellos = sio.map((s) => recorder(s, "hello"));
  const marks = sio.map((s) => recorder(s, "mark"));
  const r = await emit(srv.url, { event: "hello", rooms: ["t", "wspush::tok"], data: 1 });
  expect(r.body).toMatchObject({ ok: true, cluster: true });
  await emit(srv.url, { event: "mark", rooms: ["t", "wspush::tok"], data: "m" });
  for (const n of natives) await n.next((m) => m.event === "mark");
  for (const n of natives) expect(n.received.filter((m) => m.event === "hello").length).toBe(1);
  for (const s of streams) await s.next((e) => e.type === "mark");
  for (const s of streams) expect(s.received.filter((e) => e.type === "hello").length).toBe(1);
  for (let i = 0; i < sio.length; i++) {
    await marks[i]!.next(10_000);
    expect(hellos[i]!.got).toEqual([[1]]);
  }
  // wsify and wspush get the bare content: 1, then "m".
  for (const c of [...wsify, ...wspush]) {
    await c.next((m) => m === "m");
    expect(c.received.filter((m) => m === 1).length).toBe(1);
  }

  for (const c of [...natives, ...wsify, ...wspush]) c.close();
  for (const s of streams) s.close();
  for (const s of sio) s.close();
  // Closing is not an event the test can see on the workers: poll their /stats (bounded).
  await until(async () => (await statsByWorker()).every((st) => st.connections === 0), "every worker to have no connection left", 10_000);
}, 60_000);
