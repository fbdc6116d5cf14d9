/**
 * Redis fan-out numbers (loopback only, bounded):
 *   1. the fan-out codec: bytes per message and encode+decode rate, against a keyed-object envelope;
 *   2. end to end: batches of emits POSTed to node A reach WebSocket clients on node B through Redis.
 * Run: bun bench/redis-fanout.ts [emits=20000] [clients=10] [single|cluster]
 */
import { decodeFanout, encodeEmit } from "../src/engine/fanout-codec.ts";
import { startRedis } from "../test/helpers/redis.ts";
import { startRedisCluster } from "../test/helpers/redis-cluster.ts";
import { emit, startWsEmit } from "../test/helpers/server.ts";

const EMITS = Number(process.argv[2] ?? 20_000);
const CLIENTS = Number(process.argv[3] ?? 10);
const MODE = process.argv[4] === "cluster" ? "cluster" : "single";
const BATCH = 1000;
// Rooms spread over shards on a cluster; every client is in all of them.
const ROOMS = Array.from({ length: 16 }, (_, i) => `bench-${i}`);


// --- 1. codec ---
const msg = { event: "update", args: [{ time: 1639178370, file: "a.txt" }], namespace: "/", rooms: ["dir::a.txt"] };
const node = "0123456789ab";
const positional = encodeEmit(node, msg);
const keyed = JSON.stringify({ type: "emit", node, msg });
const N = 200_000;
let t = performance.now();
for (let i = 0; i < N; i++) decodeFanout(encodeEmit(node, msg));
const posRate = N / ((performance.now() - t) / 1000);
t = performance.now();
for (let i = 0; i < N; i++) JSON.parse(JSON.stringify({ type: "emit", node, msg }));
const keyedRate = N / ((performance.now() - t) / 1000);
console.log(`codec: positional ${positional.length} B, ${Math.round(posRate).toLocaleString("en")} encode+decode/s (with validation)`);
console.log(`codec: keyed object ${keyed.length} B, ${Math.round(keyedRate).toLocaleString("en")} encode+decode/s (no validation)`);

// --- 2. end to end through Redis ---
await using redis = MODE === "cluster" ? await startRedisCluster(3) : await startRedis();
const args = ["--redis", redis.url];
await using a = await startWsEmit(args);
await using b = await startWsEmit(args);
// Wait until both nodes are subscribed (a canary came back).
for (const n of [a, b]) for (let i = 0; i < 100 && (await fetch(`${n.url}/readyz`)).status !== 200; i++) await Bun.sleep(50);

let received = 0;
let done!: () => void;
const all = new Promise<void>((r) => (done = r));
const sockets: WebSocket[] = [];
for (let i = 0; i < CLIENTS; i++) {
  const ws = new WebSocket(`${b.wsUrl}/ws?${ROOMS.map((r) => `room=${r}`).join("&")}`);
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  ws.addEventListener("message", (e) => {
    if (typeof e.data === "string" && e.data.startsWith('{"type":"event"') && ++received === EMITS * CLIENTS) done();
  });
  sockets.push(ws);
}
const batch = Array.from({ length: BATCH }, (_, i) => ({ event: "tick", room: ROOMS[i % ROOMS.length], data: { i, pad: "x".repeat(64) } }));
t = performance.now();
for (let sent = 0; sent < EMITS; sent += BATCH) {
  const r = await emit(a.url, batch.slice(0, Math.min(BATCH, EMITS - sent)));
  if (r.status !== 200 || r.body.cluster !== true) throw new Error(`emit failed: ${JSON.stringify(r.body)}`);
}
const posted = performance.now() - t;
await Promise.race([all, Bun.sleep(60_000).then(() => Promise.reject(new Error(`only ${received} of ${EMITS * CLIENTS} arrived`)))]);
const total = performance.now() - t;
console.log(`e2e (${MODE}): ${EMITS} emits POSTed to node A in ${posted.toFixed(0)} ms; all ${EMITS * CLIENTS} deliveries on node B after ${total.toFixed(0)} ms`);
console.log(`e2e: ${Math.round(EMITS / (total / 1000)).toLocaleString("en")} emits/s across nodes, ${Math.round((EMITS * CLIENTS) / (total / 1000)).toLocaleString("en")} deliveries/s`);
for (const ws of sockets) ws.close();
