/**
 * Socket.IO connection state recovery with an unmodified socket.io-client 4.8 (default options:
 * it reconnects by itself): cut client side, and by killing the node behind a TCP proxy that
 * then sends the client to another node on the same Redis. Every event arrives once, in order,
 * and `socket.recovered` says whether the session was taken up again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { io, type Socket } from "socket.io-client";
import { emit, startNode, type Started } from "../helpers/server.ts";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { once } from "../helpers/sio.ts";
import { tcpProxy } from "../helpers/switch-proxy.ts";

let redis: RedisServer;
let b: Started;
const HISTORY = ["--history", "1000"];

beforeAll(async () => {
  redis = await startRedis();
  b = await startNode(redis.url, HISTORY);
}, 30_000);
afterAll(async () => {
  await b?.stop();
  await redis?.[Symbol.asyncDispose]();
}, 30_000);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
async function emitRange(base: string, room: string, from: number, to: number) {
  for (let i = from; i <= to; i++) expect((await emit(base, { event: "n", room, data: i })).status).toBe(200);
}
function record(socket: Socket) {
  const got: any[][] = [];
  const waiters: Array<() => void> = [];
  socket.on("n", (...a) => {
    got.push(a);
    for (const w of waiters.splice(0)) w();
  });
  return {
    got,
    async until(data: number, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (!got.some((a) => a[0] === data)) {
        if (Date.now() > deadline) throw new Error(`no event ${data} within ${ms} ms; got ${JSON.stringify(got)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 200);
          waiters.push(() => (clearTimeout(t), r()));
        });
      }
    },
  };
}

describe("Socket.IO connection state recovery", () => {
  test("the serving node is killed: the client reconnects through the proxy to another node, recovered, every event once", async () => {
    const room = "sio-kill";
    const victim = await startNode(redis.url, HISTORY);
    const proxy = tcpProxy(Number(new URL(victim.url).port));
    const socket = io(proxy.url); // no options
    try {
      await once(socket, "connect");
      expect(socket.recovered).toBe(false);
      expect(await socket.timeout(5000).emitWithAck("join", { room })).toEqual({ ok: true });
      const r = record(socket);
      await emitRange(b.url, room, 1, 10);
      await r.until(10);
      proxy.setTarget(Number(new URL(b.url).port));
      const back = once(socket, "connect", 20_000);
      await victim.stop("SIGKILL");
      await emitRange(b.url, room, 11, 30);
      await back;
      expect(socket.recovered).toBe(true);
      await emitRange(b.url, room, 31, 40);
      await r.until(40);
      expect(r.got.map((a) => a[0])).toEqual(range(1, 40));
      // The offset is the extra last argument, as with Socket.IO's own recovery.
      expect(r.got.every((a) => a.length === 2 && /^[0-9a-z]+-\d+$/.test(a[1]))).toBe(true);
      // The room is back: a re-sent join is harmless and changes nothing.
      expect(await socket.timeout(5000).emitWithAck("join", { room })).toEqual({ ok: true });
      await emitRange(b.url, room, 41, 41);
      await r.until(41);
      expect(r.got.filter((a) => a[0] === 41)).toHaveLength(1);
    } finally {
      socket.disconnect();
      proxy.stop();
    }
  }, 40_000);

  test("a transport cut on the client side: recovered on the same node, missed events once", async () => {
    const room = "sio-cut";
    const socket = io(b.url);
    try {
      await once(socket, "connect");
      await socket.timeout(5000).emitWithAck("join", { room });
      const r = record(socket);
      await emitRange(b.url, room, 1, 3);
      await r.until(3);
      const back = once(socket, "connect", 20_000);
      socket.io.engine.close(); // "transport close": the client reconnects by itself
      await emitRange(b.url, room, 4, 9);
      await back;
      expect(socket.recovered).toBe(true);
      await emitRange(b.url, room, 10, 10);
      await r.until(10);
      expect(r.got.map((a) => a[0])).toEqual(range(1, 10));
    } finally {
      socket.disconnect();
    }
  }, 30_000);

  test("an unknown pid or a session in several rooms is not recovered (the client is told, and joins again)", async () => {
    const socket = io(b.url);
    try {
      await once(socket, "connect");
      await socket.timeout(5000).emitWithAck("join", { room: "m1" });
      await socket.timeout(5000).emitWithAck("join", { room: "m2" });
      const back = once(socket, "connect", 20_000);
      socket.io.engine.close();
      await back;
      expect(socket.recovered).toBe(false);
    } finally {
      socket.disconnect();
    }
  }, 30_000);
});

describe("without Redis (in-memory history)", () => {
  test("Socket.IO recovers on the same node", async () => {
    const { startWsEmit } = await import("../helpers/server.ts");
    await using s = await startWsEmit(["--history", "50"]);
    const socket = io(s.url);
    try {
      await once(socket, "connect");
      await socket.timeout(5000).emitWithAck("join", { room: "mem" });
      const r = record(socket);
      await emitRange(s.url, "mem", 1, 2);
      await r.until(2);
      const back = once(socket, "connect", 20_000);
      socket.io.engine.close();
      await emitRange(s.url, "mem", 3, 5);
      await back;
      expect(socket.recovered).toBe(true);
      await r.until(5);
      expect(r.got.map((a) => a[0])).toEqual([1, 2, 3, 4, 5]);
    } finally {
      socket.disconnect();
    }
  }, 30_000);
});
