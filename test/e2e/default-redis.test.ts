/**
 * Redis never configured: the default Redis is used when it answers, and when it does not,
 * ws-emit runs standalone (one log line, ready, no Redis noise, emits not marked local-only) and
 * switches to Redis when it appears. A configured Redis that is down stays "not ready".
 * WS_EMIT_DEFAULT_REDIS_URL stands a throwaway Redis in for redis://localhost:6379/0.
 */
import { describe, expect, test } from "bun:test";
import { freePort, redisCli, startRedis } from "../helpers/redis.ts";
import { emit, startNode, startWsEmit } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

const REDIS_NOISE = /ioredis|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|reconnecting|redis-ingest/;

describe("the default Redis, not configured", () => {
  test("absent: standalone in one line, ready, quiet; picks Redis up when it appears", { timeout: 30_000 }, async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}/0`;
    await using srv = await startWsEmit(["--address", "127.0.0.1:0"], { env: { WS_EMIT_DEFAULT_REDIS_URL: url } });
    await srv.waitForLine(/running standalone/);
    const ready = await fetch(`${srv.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, engine: "memory" });
    const c = await openWs(`${srv.wsUrl}/ws?room=time`);
    await c.next((m) => m.type === "joined");
    // A webdis client subscribed while standalone: its plain channel is subscribed at the switch.
    const webdis = await openWs(`${srv.wsUrl}/.json`);
    webdis.send(["SUBSCRIBE", "plainch"]);
    await webdis.next((m) => Array.isArray(m?.SUBSCRIBE) && m.SUBSCRIBE[0] === "subscribe");
    for (let i = 0; i < 3; i++) {
      const r = await emit(srv.url, { event: "update", room: "time", data: i });
      expect(r.body).toEqual({ ok: true, delivered: 1, rooms: ["time"] }); // no "cluster": false, no warning
      expect(await c.next()).toMatchObject({ event: "update", data: i });
    }
    const redisLines = srv.lines.filter((l) => /redis/i.test(l));
    expect(redisLines).toEqual([expect.stringContaining(`no Redis at ${url} (--redis not set): running standalone`)]);
    expect(srv.lines.filter((l) => REDIS_NOISE.test(l))).toEqual([]);

    // Redis appears: the node switches to it (fan-out, ingest) by itself.
    await using redis = await startRedis([], port);
    await srv.waitForLine(/Redis appeared at .*switching from standalone to the Redis engine/);
    await srv.waitForLine(/redis fan-out healthy/);
    await srv.waitForLine(/subscribed to/);
    expect(await (await fetch(`${srv.url}/readyz`)).json()).toMatchObject({ ready: true, engine: "redis" });
    // Another node on that Redis reaches this node's client, and so does a PUBLISH.
    await using other = await startNode(redis.url);
    const viaOther = await emit(other.url, { event: "update", room: "time", data: "from the other node" });
    expect(viaOther.body).toMatchObject({ ok: true, cluster: true });
    expect(await c.next()).toMatchObject({ event: "update", data: "from the other node" });
    expect(await redisCli(port, "PUBLISH", "ws-emit", JSON.stringify({ event: "update", room: "time", data: "published" }))).toBe("2");
    expect(await c.next()).toMatchObject({ event: "update", data: "published" });
    expect(await redisCli(port, "PUBLISH", "plainch", "hello")).toBe("1");
    expect(await webdis.next()).toEqual({ SUBSCRIBE: ["message", "plainch", "hello"] });
    webdis.close();
    // The cluster view exists now, listing both nodes.
    await srv.waitForLine(/cluster \(unnamed; --cluster names one\): .*(joined|other node)/);
    c.close();
  });

  test("present at start: used as today", { timeout: 20_000 }, async () => {
    await using redis = await startRedis();
    await using srv = await startWsEmit(["--address", "127.0.0.1:0"], { env: { WS_EMIT_DEFAULT_REDIS_URL: redis.url } });
    await srv.waitForLine(/redis fan-out healthy/);
    expect(srv.lines.some((l) => l.includes("standalone"))).toBe(false);
    expect(await (await fetch(`${srv.url}/readyz`)).json()).toMatchObject({ ready: true, engine: "redis" });
  });

  test("configured explicitly and down: not ready, as before", { timeout: 20_000 }, async () => {
    const port = await freePort();
    for (const how of [{ args: ["--redis", `redis://127.0.0.1:${port}/0`], env: {} as Record<string, string> }, { args: [], env: { REDIS: `redis://127.0.0.1:${port}/0` } }]) {
      await using srv = await startWsEmit(["--address", "127.0.0.1:0", ...how.args], { env: how.env });
      // One warning per Redis connection (commands, subscriber, ingest, history/idempotency), each naming the cause.
      const perConnection = [/redis-ingest\] reconnecting/, /redis commands reconnecting/, /redis subscriber reconnecting/, /redis history reconnecting/];
      for (const re of perConnection) await srv.waitForLine(re);
      const warnings = srv.lines.filter((l) => l.startsWith("[warn]"));
      expect(warnings.length).toBe(perConnection.length);
      for (const w of warnings) expect(w).toMatch(/reconnecting in \d+ ms after "connect ECONNREFUSED 127\.0\.0\.1:\d+"/);
      const r = await fetch(`${srv.url}/readyz`);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ ready: false, engine: "redis", reason: "engine_unavailable" });
      expect(srv.lines.some((l) => l.includes("standalone"))).toBe(false);
      // An emit reaches this node only and says so; the log says why in plain words, not ioredis's.
      const e = await emit(srv.url, { event: "e", room: "r" });
      expect(e.body).toMatchObject({ ok: true, cluster: false, warning: "Redis is unreachable: delivered on this node only" });
      const line = await srv.waitForLine(/emits reach this node only until Redis is back/);
      expect(line).toContain("Redis is not connected");
      expect(srv.lines.filter((l) => /Stream isn't writeable|enableOfflineQueue/.test(l))).toEqual([]);
    }
  });
});
