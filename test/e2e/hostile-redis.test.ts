/**
 * Hostile Redis messages against the compiled binary (issue 11): what any client of the Redis
 * can PUBLISH on the ingest channels (JSON, Flask-SocketIO pickle and JSON, socket.io emitter
 * msgpack) and on the fan-out channel between nodes. Each is refused and counted, the log line
 * stays short, and the next good message is delivered by the same process.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { encode } from "notepack.io";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { startWsEmit, type Started } from "../helpers/server.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";

let redis: RedisServer;
let srv: Started;
let client: TestWs;
let pub: Redis;

const deepText = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);
const DEEP = deepText(100_000);
const isEvent = (event: string) => (m: any) => m?.type === "event" && m.event === event;

function python(code: string): Buffer {
  const r = Bun.spawnSync(["/usr/bin/python3", "-c", code], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`python failed: ${r.stderr.toString()}`);
  return Buffer.from(r.stdout.toString().trim(), "hex");
}

async function metric(line: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const hit = text.split("\n").find((l) => l.startsWith(`${line} `));
  return hit ? Number(hit.slice(line.length + 1)) : 0;
}

/** A good emit on `channel` after the bad one: it arriving proves the bad one was handled first (same connection, in order). */
async function sentinel(channel: string, name: string) {
  await pub.publish(channel, JSON.stringify({ method: "emit", event: name, room: "r", data: 1 }));
  return client.next(isEvent(name), 10_000);
}

async function expectAlive() {
  const res = await fetch(`${srv.url}/healthz`);
  expect(res.status).toBe(200);
  expect(srv.proc.exitCode).toBeNull();
  // No log line quotes a message whole (the LONG4 refusal used to log a 2.4 MB number).
  expect(Math.max(...srv.lines.map((l) => l.length))).toBeLessThan(2000);
}

beforeAll(async () => {
  redis = await startRedis();
  srv = await startWsEmit(["--redis", redis.url, "--max-body", "4m"], { bin: true });
  await srv.waitForLine(/redis fan-out healthy/);
  await srv.waitForLine(/subscribed to .*flask-socketio/);
  client = await openWs(`${srv.wsUrl}/ws?room=r`);
  await client.next((m) => m?.type === "joined");
  pub = new Redis(redis.url);
});
afterAll(async () => {
  client?.close();
  pub?.disconnect();
  await srv?.stop();
  await redis?.[Symbol.asyncDispose]();
});

describe("ingest channels", () => {
  test("JSON channel: data 100,000 levels deep is refused and counted", async () => {
    const before = await metric('ws_emit_events_invalid_total{source="redis-json"}');
    await pub.publish("ws-emit", `{"event":"deep","room":"r","data":${DEEP}}`);
    expect((await sentinel("ws-emit", "after-json")).event).toBe("after-json");
    expect(await metric('ws_emit_events_invalid_total{source="redis-json"}')).toBe(before + 1);
    await srv.waitForLine(/invalid message on ws-emit: "data" nests deeper than 100 levels/);
    await expectAlive();
  });

  test("Flask-SocketIO channel: deep JSON data and a deep pickle are refused", async () => {
    const before = await metric('ws_emit_events_invalid_total{source="redis-socketio"}');
    await pub.publish("flask-socketio", `{"method":"emit","event":"deep","room":"r","namespace":"/","data":[${DEEP}]}`);
    await pub.publish("flask-socketio", python("import pickle\nx = 1\nfor _ in range(200): x = [x]\nprint(pickle.dumps({'method':'emit','event':'deep','room':'r','namespace':'/','data':x}, protocol=4).hex())"));
    expect((await sentinel("flask-socketio", "after-queue")).event).toBe("after-queue");
    expect(await metric('ws_emit_events_invalid_total{source="redis-socketio"}')).toBe(before + 2);
    await expectAlive();
  });

  test("a pickled 1 MB integer (LONG4) is refused at once, and the log does not print it", async () => {
    // LONG4 of 1 MiB: decoding it byte by byte into a BigInt blocked the event loop ~110 s.
    const n = 1024 * 1024;
    const head = Buffer.from([0x80, 4, 0x7d, 0x28, 0x8c, 4, ...Buffer.from("data"), 0x8b, 0, 0, 0, 0]);
    head.writeInt32LE(n, head.length - 4);
    const tail = Buffer.from([0x75, 0x2e]); // SETITEMS, STOP
    await pub.publish("flask-socketio", Buffer.concat([head, Buffer.alloc(n, 0x37), tail]));
    expect((await sentinel("flask-socketio", "after-long")).event).toBe("after-long");
    const line = await srv.waitForLine(/invalid message on flask-socketio: integer of 1048576 bytes/);
    expect(line.length).toBeLessThan(2000);
    await expectAlive();
  });

  test("a 3 KB pickle that expands past --max-body through memo references is refused", async () => {
    const p = python("import pickle\nx = ['abcdefghij' * 10] * 10\nfor _ in range(5): x = [x] * 8\nprint(pickle.dumps({'method':'emit','event':'big','room':'r','namespace':'/','data':x}, protocol=4).hex())");
    expect(p.length).toBeLessThan(4000);
    await pub.publish("flask-socketio", p);
    expect((await sentinel("flask-socketio", "after-memo")).event).toBe("after-memo");
    await srv.waitForLine(/invalid message on flask-socketio: pickle expands to more than 4194304 bytes once memo references are expanded/);
    await expectAlive();
  });

  test("socket.io emitter msgpack: a deep argument and a map as packet type are refused or ignored", async () => {
    const before = await metric('ws_emit_events_invalid_total{source="redis-emitter"}');
    await pub.publish("socket.io#/#", Buffer.from(encode(["uid", { type: 2, data: ["deep", JSON.parse(deepText(5000))], nsp: "/" }, { rooms: ["r"] }])));
    await pub.publish("socket.io#/#", Buffer.from(encode(["uid", { type: { toString: 1 }, data: ["x"], nsp: "/" }, { rooms: ["r"] }])));
    await pub.publish("socket.io#/#", Buffer.from(encode(["uid", { type: 2, data: ["after-emitter", 1], nsp: "/" }, { rooms: ["r"] }])));
    expect((await client.next(isEvent("after-emitter"), 10_000)).data).toBe(1);
    expect(await metric('ws_emit_events_invalid_total{source="redis-emitter"}')).toBe(before + 1);
    await expectAlive();
  });

  test("a 100 KB channel name and a 100 KB sid are cut in the log", async () => {
    const mark = srv.lines.length;
    await pub.publish(`socket.io#${"x".repeat(100_000)}`, Buffer.from("not msgpack at all"));
    await pub.publish("flask-socketio", JSON.stringify({ method: "disconnect", sid: "s".repeat(100_000), namespace: "/" }));
    expect((await sentinel("flask-socketio", "after-long-names")).event).toBe("after-long-names");
    const line = await srv.waitForLine(/invalid message on socket\.io#x+…/, 5000, mark);
    expect(line.length).toBeLessThan(1000);
    await srv.waitForLine(/invalid message on flask-socketio: disconnect with a "sid" longer than 100 characters/, 5000, mark);
    await expectAlive();
  });
});

describe("fan-out channel", () => {
  test("a fan-out message with 100,000-deep arguments is refused by every node with a subscriber", async () => {
    const before = await metric('ws_emit_events_invalid_total{source="cluster"}');
    await pub.publish("ws-emit:fanout", `["e","othernode","deep","/",["r"],[${DEEP}]]`);
    await pub.publish("ws-emit:fanout", JSON.stringify(["e", "othernode", "after-fanout", "/", ["r"], [1]]));
    expect((await client.next(isEvent("after-fanout"), 10_000)).data).toBe(1);
    expect(await metric('ws_emit_events_invalid_total{source="cluster"}')).toBe(before + 1);
    await expectAlive();
  });
});
