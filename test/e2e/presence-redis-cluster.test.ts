/**
 * Occupancy, presence and webhooks on a real 3-master Redis Cluster (every occupancy key carries
 * the {occ} hash tag, so the batch scripts run on one master): two nodes, a native and an SSE
 * client, counts on both nodes, members, one webhook per transition.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { signJwt } from "../../src/auth/jwt.ts";
import { startRedisCluster, type RedisCluster } from "../helpers/redis-cluster.ts";
import { startWsEmit, until, type Started } from "../helpers/server.ts";
import { openEventSource } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";
import { startWebhookReceiver, transitionsOf, type WebhookReceiver } from "../helpers/webhook-receiver.ts";

let cluster: RedisCluster;
let hook: WebhookReceiver;
let a: Started, b: Started;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  hook = startWebhookReceiver("k");
  const args = ["--redis", cluster.url, "--roomspace-secret", "dir=S", "--presence-roomspace", "dir", "--webhook-url", hook.url, "--webhook-secret", "k"];
  [a, b] = await Promise.all([startWsEmit(args), startWsEmit(args)]);
  await Promise.all([a.waitForLine(/redis fan-out healthy/, 20_000), b.waitForLine(/redis fan-out healthy/, 20_000)]);
}, 60_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  hook?.stop();
  await cluster?.[Symbol.asyncDispose]();
});

const get = async (n: Started, path: string) => (await (await fetch(`${n.url}${path}`)).json()) as any;

describe("occupancy on Redis Cluster", () => {
  test("counts, members and webhooks across two nodes", async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const x = await openWs(`${a.wsUrl}/ws?room=dir::c&token=${await signJwt({ rooms: ["dir::c"], exp, sub: "x" }, "S")}`);
    await x.next();
    const y = openEventSource(`${b.url}/sse?room=dir::c&token=${await signJwt({ rooms: ["dir::c"], exp, sub: "y" }, "S")}`);
    await y.opened;
    for (const n of [a, b]) await until(async () => (await get(n, "/rooms/dir::c")).subscribers === 2, "2 subscribers");
    expect(await get(b, "/rooms/dir::c")).toEqual({ room: "dir::c", subscribers: 2, nodes: 2 });
    expect((await get(a, "/rooms/dir::c/members")).members.sort()).toEqual(["x", "y"]);
    expect((await get(a, "/rooms?occupied=1")).rooms).toEqual([{ room: "dir::c", subscribers: 2 }]);
    x.close();
    y.close();
    for (const n of [a, b]) await until(async () => (await get(n, "/rooms/dir::c")).subscribers === 0, "0 subscribers");
    const all = ["room_occupied", "member_added:x", "member_added:y", "member_removed:x", "member_removed:y", "room_vacated"];
    await hook.waitFor((ev) => transitionsOf(ev, "dir::c").length >= all.length, "six transitions");
    expect(transitionsOf(hook.events, "dir::c").sort()).toEqual(all.sort());
  }, 30_000);
});
