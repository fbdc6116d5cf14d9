/**
 * A client's frames apply in the order sent, although a private join waits for Redis (the
 * roomspace secret): `join` then `leave` sent back to back must end outside the room, on the
 * native protocol, wsify and webdis alike (Socket.IO: socketio.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

let redis: RedisServer;
let srv: Started;
beforeAll(async () => {
  redis = await startRedis();
  // No secret cache: every private join asks Redis, so it is always still pending when the leave arrives.
  srv = await startWsEmit(["--redis", redis.url, "--secret-cache", "0"]);
  await srv.waitForLine(/redis fan-out healthy/);
  await redisCli(redis.port, "SET", "ws-emit::secret::dir", "S");
});
afterAll(async () => {
  await srv.stop();
  await redis[Symbol.asyncDispose]();
});

describe("frames apply in the order sent while a private join waits for Redis", () => {
  test("native: join then leave at once ends outside the room, replies in order", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.ws.send(JSON.stringify({ type: "join", room: "dir::order", secret: "S", id: 1 }));
    c.ws.send(JSON.stringify({ type: "leave", room: "dir::order", id: 2 }));
    c.ws.send(JSON.stringify({ type: "ping", id: 3 }));
    expect(await c.next()).toMatchObject({ type: "joined", id: 1 });
    expect(await c.next()).toMatchObject({ type: "left", id: 2 });
    expect(await c.next()).toMatchObject({ type: "pong", id: 3 });
    expect((await emit(srv.url, { event: "leak", room: "dir::order" })).body.delivered).toBe(0);
    c.close();
  });

  test("wsify: join then leave at once ends outside the channel", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.ws.send(JSON.stringify({ command: "join", args: { channel: "dir::wsify", secret: "S" } }));
    c.ws.send(JSON.stringify({ command: "leave", args: { channel: "dir::wsify" } }));
    // A public join after both: once it took effect, the two before it have too.
    c.ws.send(JSON.stringify({ command: "join", args: { channel: "marker" } }));
    for (let i = 0; i < 100 && (await emit(srv.url, { event: "m", room: "marker", data: i })).body.delivered === 0; i++) await Bun.sleep(10);
    expect((await emit(srv.url, { event: "leak", room: "dir::wsify" })).body.delivered).toBe(0);
    c.close();
  });

  test("webdis: SUBSCRIBE then UNSUBSCRIBE at once ends unsubscribed, replies in order", async () => {
    const c = await openWs(`${srv.wsUrl}/.json?secret=S`);
    c.ws.send(JSON.stringify(["SUBSCRIBE", "dir::webdis"]));
    c.ws.send(JSON.stringify(["UNSUBSCRIBE", "dir::webdis"]));
    expect(await c.next()).toEqual({ SUBSCRIBE: ["subscribe", "dir::webdis", 1] });
    expect(await c.next()).toEqual({ UNSUBSCRIBE: ["unsubscribe", "dir::webdis", 0] });
    expect((await emit(srv.url, { event: "leak", room: "dir::webdis" })).body.delivered).toBe(0);
    c.close();
  });
});
