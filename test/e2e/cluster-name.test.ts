/**
 * Clustering made visible and separable: nodes on one Redis log whom they joined and who comes
 * and goes; /stats names the cluster and its nodes; --cluster keeps deployments that share a
 * Redis apart (their own fan-out channel and node list).
 */
import { describe, expect, test } from "bun:test";
import { redisCli, startRedis } from "../helpers/redis.ts";
import { emit, startNode } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

const stats = async (url: string) => (await fetch(`${url}/stats`)).json() as Promise<any>;

describe("cluster names and membership", () => {
  test("same name: one cluster, joins and leaves logged; other name: kept apart", { timeout: 40_000 }, async () => {
    await using redis = await startRedis();
    const fast = ["--stats-interval", "500ms"];
    await using a = await startNode(redis.url, ["--cluster", "prod", ...fast]);
    await a.waitForLine(/cluster prod: no other node yet \(this is the first\)/);
    const aId = (await stats(a.url)).node as string;
    {
      await using b = await startNode(redis.url, ["--cluster", "prod", ...fast]);
      const bId = (await stats(b.url)).node as string;
      // b names the node it joined; a notices b.
      const joined = await b.waitForLine(/cluster prod: joined 1 other node: /);
      expect(joined).toContain(`${aId} (`);
      expect(joined).toMatch(/pid \d+\)$/);
      await a.waitForLine(new RegExp(`cluster prod: ${bId} \\(.*pid \\d+\\) joined \\(2 nodes now\\)`));
      const s = await stats(a.url);
      expect(s.cluster).toMatchObject({ available: true, name: "prod", node_count: 2 });
      expect(s.cluster.nodes.map((n: any) => n.id).sort()).toEqual([aId, bId].sort());
      expect(typeof s.cluster.nodes[0].host).toBe("string");
      // One cluster: an emit on b reaches a's client.
      const c = await openWs(`${a.wsUrl}/ws?room=r`);
      await c.next((m) => m.type === "joined");
      expect((await emit(b.url, { event: "e", room: "r", data: 1 })).body).toMatchObject({ ok: true, cluster: true });
      expect(await c.next()).toMatchObject({ event: "e", data: 1 });
      c.close();
      // b drains and leaves: a logs it.
      const since = a.lines.length;
      await b.stop("SIGTERM");
      await a.waitForLine(new RegExp(`cluster prod: ${bId} .* left \\(1 node now\\)`), 10_000, since);
    }

    // Another name on the same Redis: its own channel and node list.
    await using d = await startNode(redis.url, ["--cluster", "dev", ...fast]);
    await d.waitForLine(/cluster dev: no other node yet \(this is the first\)/);
    expect((await stats(d.url)).cluster).toMatchObject({ name: "dev", node_count: 1 });
    expect((await stats(a.url)).cluster).toMatchObject({ name: "prod", node_count: 1 });
    expect(await redisCli(redis.port, "PUBSUB", "NUMSUB", "ws-emit:prod:fanout", "ws-emit:dev:fanout", "ws-emit:fanout")).toBe(
      "ws-emit:prod:fanout\n1\nws-emit:dev:fanout\n1\nws-emit:fanout\n0",
    );
    // An emit on dev is no emit for prod: PUBLISH reached one node (dev's own subscriber).
    expect((await emit(d.url, { event: "e", room: "r" })).body).toMatchObject({ ok: true, cluster: true });
    expect(await redisCli(redis.port, "ZCARD", "ws-emit:prod:nodes")).toBe("1");
    expect(await redisCli(redis.port, "ZCARD", "ws-emit:dev:nodes")).toBe("1");
  });

  test("no name: the unnamed cluster, as before, and the log says how to name one", { timeout: 20_000 }, async () => {
    await using redis = await startRedis();
    await using a = await startNode(redis.url, ["--stats-interval", "500ms"]);
    await a.waitForLine(/cluster \(unnamed; --cluster names one\): no other node yet/);
    expect((await stats(a.url)).cluster).toMatchObject({ name: null, node_count: 1 });
    expect(await redisCli(redis.port, "PUBSUB", "NUMSUB", "ws-emit:fanout")).toBe("ws-emit:fanout\n1");
  });
});
