import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRedis, redisCli, type RedisServer } from "../helpers/redis.ts";
import { startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

let redis: RedisServer;
let srv: Started;
beforeAll(async () => {
  redis = await startRedis();
  srv = await startWsEmit(["--redis", redis.url, "--wspush-prefix", "push."]);
  await srv.waitForLine(/subscribed to/);
});
afterAll(async () => {
  await srv.stop();
  await redis[Symbol.asyncDispose]();
});

/** Wait (bounded) until ws-emit's subscriber listens on a plain channel. */
async function subscribedTo(channel: string, want: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const out = await redisCli(redis.port, "PUBSUB", "NUMSUB", channel);
    if (Number(out.split("\n")[1]) === want) return;
    await Bun.sleep(10);
  }
  throw new Error(`NUMSUB ${channel} never became ${want}`);
}

describe("plain Redis channels (webdis, wsify, wspush backends)", () => {
  test("webdis recipe: r.publish(666, text) reaches a /.json subscriber; unsubscribing releases the channel", async () => {
    const c = await openWs(`${srv.wsUrl}/.json`);
    c.send(["SUBSCRIBE", 666]);
    expect(await c.next()).toEqual({ SUBSCRIBE: ["subscribe", "666", 1] });
    await subscribedTo("666", 1);
    await redisCli(redis.port, "PUBLISH", "666", "Function running, please wait......");
    expect(await c.next()).toEqual({ SUBSCRIBE: ["message", "666", "Function running, please wait......"] });
    c.send(["UNSUBSCRIBE", "666"]);
    await c.next();
    await subscribedTo("666", 0);
    c.close();
  });

  test("wsify with a Redis broker: PUBLISH hello text arrives verbatim; native clients in the room do not get plain text", async () => {
    const w = await openWs(`${srv.wsUrl}/ws`);
    const texts: string[] = [];
    w.ws.addEventListener("message", (e) => texts.push(e.data as string));
    const n = await openWs(`${srv.wsUrl}/ws?room=hello`);
    await n.next();
    w.send({ command: "join", args: { channel: "hello" } });
    await subscribedTo("hello", 1);
    await redisCli(redis.port, "PUBLISH", "hello", "just text");
    await w.next();
    expect(texts).toEqual(["just text"]);
    // An emit through the JSON channel reaches both kinds of client.
    await redisCli(redis.port, "PUBLISH", "ws-emit", '{"event":"update","room":"hello","data":{"x":1}}');
    expect(await w.next()).toEqual({ x: 1 });
    expect(await n.next()).toEqual({ type: "event", room: "hello", event: "update", data: { x: 1 } });
    expect(n.received.length).toBe(2);
    w.close();
    n.close();
  });

  test("wspush: PUBLISH push.Foo reaches ?token=Foo", async () => {
    const c = await openWs(`${srv.wsUrl}/wspush?token=Foo`);
    const other = await openWs(`${srv.wsUrl}/wspush?token=Bar`);
    const texts: string[] = [];
    c.ws.addEventListener("message", (e) => texts.push(e.data as string));
    await redisCli(redis.port, "PUBLISH", "push.Foo", "build 42% ready");
    await c.next();
    expect(texts).toEqual(["build 42% ready"]);
    expect(other.received).toEqual([]);
    c.close();
    other.close();
  });
});
