/**
 * Occupancy, presence and lifecycle webhooks on 3 nodes sharing one real redis-server, with real
 * clients of every kind (native WebSocket, SSE through EventSource, socket.io-client) joining
 * and leaving on different nodes; a real HTTP receiver (Bun.serve) checks the webhook signatures.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { signJwt } from "../../src/auth/jwt.ts";
import { signToken } from "../../src/auth/token.ts";
import { redisCli, startRedis, type RedisServer } from "../helpers/redis.ts";
import { startNode, until, type Started } from "../helpers/server.ts";
import { openEventSource } from "../helpers/sse.ts";
import { openWs } from "../helpers/ws.ts";
import { connectSio, emitAck, recorder } from "../helpers/sio.ts";
import { startWebhookReceiver, transitionsOf, type WebhookReceiver } from "../helpers/webhook-receiver.ts";

const SECRET = "S3cret";
let redis: RedisServer;
let hook: WebhookReceiver;
let nodes: Started[] = [];
beforeAll(async () => {
  redis = await startRedis();
  hook = startWebhookReceiver("hook-key");
  const args = [
    "--roomspace-secret", `dir=${SECRET}`,
    "--presence-roomspace", "dir",
    "--presence-notices", "on",
    "--webhook-url", hook.url,
    "--webhook-secret", "hook-key",
    "--occupancy-liveness", "2s",
    "--webhook-claim", "3s",
  ];
  nodes = await Promise.all([startNode(redis.url, args), startNode(redis.url, args), startNode(redis.url, args)]);
}, 30_000);
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  hook?.stop();
  await redis?.[Symbol.asyncDispose]();
});

const exp = () => Math.floor(Date.now() / 1000) + 600;
const jwt = (sub: string, room = "dir::*") => signJwt({ rooms: [room], exp: exp(), sub }, SECRET);
async function occupancy(node: Started, room: string): Promise<{ room: string; subscribers: number; nodes: number }> {
  const res = await fetch(`${node.url}/rooms/${encodeURIComponent(room)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { room: string; subscribers: number; nodes: number };
}
async function members(node: Started, room: string): Promise<string[]> {
  const res = await fetch(`${node.url}/rooms/${encodeURIComponent(room)}/members`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { members: string[] }).members.sort();
}
/** Every node answers `want` for the room (counts converge; there is no event to await). */
async function allSee(room: string, want: { subscribers: number; nodes: number }, timeoutMs = 5000) {
  for (const n of nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null))
    await until(async () => {
      const o = await occupancy(n, room);
      return o.subscribers === want.subscribers && o.nodes === want.nodes;
    }, `${room} = ${JSON.stringify(want)} on ${n.url}`, timeoutMs);
}
/** One webhook per transition: each appears under exactly one event id. */
function assertOnce(room: string, want: string[]) {
  expect(transitionsOf(hook.events, room).sort()).toEqual([...want].sort());
}

describe("occupancy and presence across 3 nodes", () => {
  test("native (A), SSE (B) and Socket.IO (C) clients: counts on every node, members by sub, notices, one webhook per transition", async () => {
    const [a, b, c] = nodes as [Started, Started, Started];
    const room = "dir::doc-1";
    // alice in two tabs (native on A with a JWT, SSE on B with our own token format), bob on C.
    const alice = await openWs(`${a.wsUrl}/ws`);
    alice.send({ type: "join", room, token: await jwt("alice"), id: 1 });
    expect(await alice.next()).toEqual({ type: "joined", room, id: 1 });
    const aliceTab2 = openEventSource(`${b.url}/sse?room=${room}&token=${signToken({ rooms: [room], exp: exp(), sub: "alice" }, SECRET)}`, ["presence"]);
    await aliceTab2.opened;
    const bob = await connectSio(c.url, { transports: ["websocket"] });
    const bobSees = recorder(bob, "presence");
    expect(await emitAck(bob, "join", { room, token: await jwt("bob") })).toEqual({ ok: true });

    await allSee(room, { subscribers: 3, nodes: 3 });
    for (const n of nodes) expect(await members(n, room)).toEqual(["alice", "bob"]);
    // A's native client is told bob joined on C (the notice crossed nodes through Redis).
    expect(await alice.next((m) => m.type === "event" && m.event === "presence" && m.data?.sub === "bob")).toMatchObject({ room, data: { type: "join", sub: "bob" } });
    // The notice reaches every kind of client: SSE on B, Socket.IO on C (bob sees his own join).
    expect(JSON.parse((await aliceTab2.next((e) => e.type === "presence" && e.data.includes("bob"))).data)).toEqual({ type: "join", sub: "bob" });
    let seen = await bobSees.next();
    while (seen[0]?.sub !== "bob") seen = await bobSees.next(); // alice's join may come first
    expect(seen).toEqual([{ type: "join", sub: "bob" }]);
    const list = (await (await fetch(`${b.url}/rooms?prefix=dir::doc`)).json()) as { rooms: unknown[] };
    expect(list.rooms).toEqual([{ room, subscribers: 3 }]);

    // alice closes one tab: 2 subscribers, still a member (her other tab is open).
    aliceTab2.close();
    await allSee(room, { subscribers: 2, nodes: 2 });
    expect(await members(a, room)).toEqual(["alice", "bob"]);
    // bob leaves: alice is told.
    bob.close();
    expect(await alice.next((m) => m.event === "presence" && m.data?.type === "leave")).toMatchObject({ data: { type: "leave", sub: "bob" } });
    await allSee(room, { subscribers: 1, nodes: 1 });
    expect(await members(c, room)).toEqual(["alice"]);
    alice.close();
    await allSee(room, { subscribers: 0, nodes: 0 });
    expect(await members(b, room)).toEqual([]);

    const all = ["room_occupied", "member_added:alice", "member_added:bob", "member_removed:bob", "member_removed:alice", "room_vacated"];
    await hook.waitFor((ev) => transitionsOf(ev, room).length >= all.length, `the six transitions of ${room}`);
    // A later transition from every node: anything duplicated would have been queued before it.
    for (const [i, n] of nodes.entries()) {
      const s = await openWs(`${n.wsUrl}/ws?room=sentinel-${i}`);
      await s.next();
      // A join and a leave within one batch (200 ms) cancel out: no transition. Let it land first.
      await allSee(`sentinel-${i}`, { subscribers: 1, nodes: 1 });
      s.close();
      await hook.waitFor((ev) => transitionsOf(ev, `sentinel-${i}`).includes("room_vacated"), `sentinel-${i} vacated`);
    }
    assertOnce(room, all);
    expect(hook.badSignatures).toBe(0);
    // Room events carry no sub; every event has an id, a time and the node that caused it.
    for (const e of hook.events) expect([typeof e.id, typeof e.time, typeof e.node]).toEqual(["string", "number", "string"]);
  }, 30_000);

  test("many clients joining at once on all nodes: the totals add up, one room_occupied", async () => {
    const room = "busy";
    const clients = await Promise.all(Array.from({ length: 30 }, (_, i) => openWs(`${nodes[i % 3]!.wsUrl}/ws?room=${room}`)));
    await Promise.all(clients.map((c) => c.next()));
    await allSee(room, { subscribers: 30, nodes: 3 });
    for (const c of clients) c.close();
    await allSee(room, { subscribers: 0, nodes: 0 });
    await hook.waitFor((ev) => transitionsOf(ev, room).includes("room_vacated"), `${room} vacated`);
    assertOnce(room, ["room_occupied", "room_vacated"]);
  }, 30_000);

  test("700 rooms at once (batches split into several scripts): every node lists them all, then none", async () => {
    const [a, b] = nodes as [Started, Started];
    const clients = await Promise.all(
      Array.from({ length: 7 }, (_, k) => openWs(`${a.wsUrl}/ws?${Array.from({ length: 100 }, (_, i) => `room=many-${k * 100 + i}`).join("&")}`)),
    );
    for (const c of clients) for (let i = 0; i < 100; i++) await c.next();
    const snapshot = async () => ((await (await fetch(`${b.url}/rooms?prefix=many-&occupied=1`)).json()) as { rooms: Array<{ room: string; subscribers: number }> }).rooms;
    await until(async () => (await snapshot()).length === 700, "700 rooms listed on B");
    expect((await snapshot()).every((r) => r.subscribers === 1)).toBe(true);
    for (const c of clients) c.close();
    await until(async () => (await snapshot()).length === 0, "no rooms left");
  }, 30_000);

  test("a receiver that is down gets every event once it is back (retries with backoff)", async () => {
    const [a, b] = nodes as [Started, Started];
    hook.down = true;
    const before = hook.refused;
    try {
      const x = await openWs(`${a.wsUrl}/ws?room=outage-1`);
      await x.next();
      const y = openEventSource(`${b.url}/sse?room=outage-2`);
      await y.opened;
      await allSee("outage-1", { subscribers: 1, nodes: 1 });
      await allSee("outage-2", { subscribers: 1, nodes: 1 });
      x.close();
      y.close();
      await allSee("outage-1", { subscribers: 0, nodes: 0 });
      await allSee("outage-2", { subscribers: 0, nodes: 0 });
      await hook.waitRefused(before + 8); // several attempts per node, seconds apart (backoff 0.5 s, 1 s, 2 s…)
    } finally {
      hook.down = false;
    }
    await hook.waitFor((ev) => transitionsOf(ev, "outage-1").length === 2 && transitionsOf(ev, "outage-2").length === 2, "the held events", 40_000);
    assertOnce("outage-1", ["room_occupied", "room_vacated"]);
    assertOnce("outage-2", ["room_occupied", "room_vacated"]);
  }, 60_000);

  test("a SIGKILLed node's members leave the counts within its liveness timeout", async () => {
    const [a, , c] = nodes as [Started, Started, Started];
    const room = "dir::doc-2";
    const dave = await openWs(`${a.wsUrl}/ws`);
    dave.send({ type: "join", room, token: await jwt("dave"), id: 1 });
    await dave.next();
    const carol = await connectSio(c.url, { transports: ["websocket"], reconnection: false });
    expect(await emitAck(carol, "join", { room, token: await jwt("carol") })).toEqual({ ok: true });
    await allSee(room, { subscribers: 2, nodes: 2 });
    expect(await members(a, room)).toEqual(["carol", "dave"]);

    await c.stop("SIGKILL");
    // Liveness 2 s: the survivors take C's contribution out (once) and say so.
    await allSee(room, { subscribers: 1, nodes: 1 }, 10_000);
    expect(await members(a, room)).toEqual(["dave"]);
    expect(await dave.next((m) => m.event === "presence" && m.data?.type === "leave", 5000)).toMatchObject({ data: { type: "leave", sub: "carol" } });
    await hook.waitFor((ev) => transitionsOf(ev, room).includes("member_removed:carol"), "carol removed");
    dave.close();
    carol.close();
    await allSee(room, { subscribers: 0, nodes: 0 });
    // Events C had read from the stream but not yet POSTed when it died are claimed by a survivor after --webhook-claim.
    const all = ["room_occupied", "member_added:dave", "member_added:carol", "member_removed:carol", "member_removed:dave", "room_vacated"];
    await hook.waitFor((ev) => transitionsOf(ev, room).length >= all.length, `the six transitions of ${room}`, 20_000);
    assertOnce(room, all);
  }, 30_000);
});

describe("a node that was only stalled", () => {
  test("SIGSTOP past the liveness: the others take its clients out; after SIGCONT it puts them back", async () => {
    const [a, b] = nodes as [Started, Started];
    const room = "stalled";
    const c = await openWs(`${b.wsUrl}/ws?room=${room}`);
    await c.next();
    await allSee(room, { subscribers: 1, nodes: 1 });
    b.proc.kill("SIGSTOP");
    try {
      await until(async () => (await occupancy(a, room)).subscribers === 0, `${room} taken out while B is stopped`, 10_000);
    } finally {
      b.proc.kill("SIGCONT");
    }
    // B's next write finds its liveness key gone and sends all its counts again.
    await allSee(room, { subscribers: 1, nodes: 1 });
    await b.waitForLine(/sending them again/);
    c.close();
    await allSee(room, { subscribers: 0, nodes: 0 });
    await hook.waitFor((ev) => transitionsOf(ev, room).length >= 4, `4 transitions of ${room}`);
    // In the order they happened (Stream ids grow; batches from different nodes may arrive in any order).
    const byId = [...new Map(hook.events.filter((e) => e.room === room).map((e) => [e.id, e])).values()];
    const idKey = (id: string) => id.split("-").map(Number) as [number, number];
    byId.sort((x, y) => idKey(x.id)[0] - idKey(y.id)[0] || idKey(x.id)[1] - idKey(y.id)[1]);
    expect(byId.map((e) => e.type)).toEqual(["room_occupied", "room_vacated", "room_occupied", "room_vacated"]);
  }, 30_000);
});

describe("Redis goes away", () => {
  test("GET /rooms is a 503 while Redis is down; a Redis that comes back empty gets the counts again", async () => {
    const own = await startRedis();
    const node = await startNode(own.url, ["--occupancy-liveness", "2s"]);
    try {
      const c = await openWs(`${node.wsUrl}/ws?room=survivor`);
      await c.next();
      await until(async () => (await occupancy(node, "survivor")).subscribers === 1, "survivor counted");
      await own.stop();
      const res = await fetch(`${node.url}/rooms/survivor`);
      expect([res.status, ((await res.json()) as { error: string }).error, res.headers.get("retry-after")]).toEqual([503, "unavailable", "1"]);
      await own.restart(); // same port, no data
      await until(async () => (await fetch(`${node.url}/rooms/survivor`)).status === 200 && (await occupancy(node, "survivor")).subscribers === 1, "survivor counted again", 15_000);
      c.close();
    } finally {
      await node.stop();
      await own[Symbol.asyncDispose]();
    }
  }, 40_000);
});

describe("--webhook-stream", () => {
  test("without --webhook-url, the events stay in the Redis Stream for the user's own consumers", async () => {
    const node = await startNode(redis.url, ["--redis-prefix", "sink", "--webhook-stream", "on"]);
    try {
      const c = await openWs(`${node.wsUrl}/ws?room=streamed`);
      await c.next();
      await until(async () => (await occupancy(node, "streamed")).subscribers === 1, "streamed occupied");
      c.close();
      await until(async () => (await occupancy(node, "streamed")).subscribers === 0, "streamed vacated");
      const text = await redisCli(redis.port, "XRANGE", "sink:{occ}:events", "-", "+");
      expect(text.split("\n").filter((l) => l === "room_occupied" || l === "room_vacated")).toEqual(["room_occupied", "room_vacated"]);
      expect(text).toContain("streamed");
    } finally {
      await node.stop();
    }
  });
});
