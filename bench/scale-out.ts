/**
 * Scale-out simulation: 1, 2 and 4 ws-emit nodes on one redis-server, native WebSocket
 * subscribers spread over the nodes, traffic published over HTTP to the nodes in turn.
 *
 *   bun bench/scale-out.ts [--nodes 1,2,4] [--modes targeted,broadcast] [--subs 4000] [--messages 200000] [--seconds 10]
 *
 * - targeted: subscriber i alone in room t<i>; the room lives on node (partition of t<i>) mod
 *   N, as a room-aware balancer would place it, so each node holds 64/N of the 64 partitions;
 *   emits go round-robin over the rooms, batches of 100 per POST, at most --window undelivered.
 * - broadcast: every subscriber in room "bench", spread evenly over the nodes.
 * Reports total deliveries/s and, per node, the fan-out messages and bytes Redis sent it
 * (ws_emit_fanout_received_total / _bytes_total) as a share of what was published.
 */
import { parseArgs } from "node:util";
import { shardOf } from "../src/engine/shards.ts";
import { cpuSeconds, machineBusySeconds } from "./proc.ts";
import { startClients, startNode, startRedis, type Node } from "./scale-common.ts";

const { values: a } = parseArgs({
  options: {
    nodes: { type: "string", default: "1,2,4" },
    modes: { type: "string", default: "targeted,broadcast" },
    subs: { type: "string", default: "4000" },
    messages: { type: "string", default: "200000" },
    seconds: { type: "string", default: "10" },
    window: { type: "string", default: "2000" },
    batch: { type: "string", default: "100" },
    procs: { type: "string", default: "2" },
  },
});
const S = Number(a.subs);
const PROCS = Number(a.procs);
const P = 64;

async function metric(node: Node, name: string): Promise<number> {
  const text = await (await fetch(`${node.base}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0);
}

async function run(n: number, mode: "targeted" | "broadcast") {
  const messages = mode === "targeted" ? Number(a.messages) : Math.ceil(Number(a.messages) / S) * 4;
  const window = mode === "targeted" ? Number(a.window) : 4;
  const batch = mode === "targeted" ? Number(a.batch) : 1;
  const redis = await startRedis();
  const nodes: Node[] = [];
  let clients: ReturnType<typeof startClients> | null = null;
  try {
    for (let i = 0; i < n; i++) nodes.push(await startNode(["--redis", redis.url, "--heartbeat", "60s"]));
    const room = (i: number) => (mode === "targeted" ? `t${i}` : "bench");
    const nodeOf = (i: number) => (mode === "targeted" ? shardOf("/", room(i), P) % n : i % n);
    const plans = Array.from({ length: PROCS }, (_, p) => ({
      localAddress: `127.0.0.${2 + p}`,
      conns: [] as Array<[number, string, string]>,
    }));
    for (let i = 0; i < S; i++) plans[i % PROCS]!.conns.push([nodes[nodeOf(i)]!.port, `/ws?room=${room(i)}`, room(i)]);
    clients = startClients(plans, { need: mode === "targeted" ? 1 : PROCS });
    const j = await clients.joined;
    if (j.joined !== S) throw new Error(`only ${j.joined}/${S} joined`);
    const before = await Promise.all(nodes.map(async (nd) => [await metric(nd, "ws_emit_fanout_received_total"), await metric(nd, "ws_emit_fanout_received_bytes_total")]));
    const pids = nodes.flatMap((nd) => nd.pids());
    const cpu0 = cpuSeconds(pids);
    const rcpu0 = cpuSeconds([redis.proc.pid]);
    const lg0 = cpuSeconds(clients.pids);
    const busy0 = machineBusySeconds();
    const t0 = Date.now();
    let seq = 0;
    let posts = 0;
    const until = (count: number) => Promise.race([clients!.fullyDone(count), Bun.sleep(30_000).then(() => Promise.reject(new Error(`not ${count} delivered within 30 s`)))]);
    while (seq < messages && Date.now() - t0 < Number(a.seconds) * 1000) {
      const body: unknown[] = [];
      for (let k = 0; k < batch && seq < messages; k++) {
        const s = ++seq;
        body.push({ event: "e", room: room(s % S), data: { s, t: Date.now() } });
      }
      const target = nodes[posts++ % n]!;
      const r = await fetch(`${target.base}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`POST /emit ${r.status}`);
      await r.arrayBuffer();
      if (seq > window) await until(seq - window);
    }
    await until(seq);
    const secs = (Date.now() - t0) / 1000;
    const fanout = mode === "targeted" ? 1 : S;
    const after = await Promise.all(nodes.map(async (nd) => [await metric(nd, "ws_emit_fanout_received_total"), await metric(nd, "ws_emit_fanout_received_bytes_total")]));
    const rep = await clients.report();
    const perNode = after.map(([m, b], i) => ({
      received: m! - before[i]![0]!,
      share: +((m! - before[i]![0]!) / seq).toFixed(3),
      kib: Math.round((b! - before[i]![1]!) / 1024),
    }));
    const out = {
      mode,
      nodes: n,
      subs: S,
      published: seq,
      seconds: +secs.toFixed(1),
      deliveriesPerSec: Math.round((seq * fanout) / secs),
      publishedPerSec: Math.round(seq / secs),
      serverCpuPct: Math.round(((cpuSeconds(pids) - cpu0) / secs) * 100),
      redisCpuPct: Math.round(((cpuSeconds([redis.proc.pid]) - rcpu0) / secs) * 100),
      loadgenCpuPct: Math.round(((cpuSeconds(clients.pids) - lg0) / secs) * 100),
      machineCpuPct: Math.round(((machineBusySeconds() - busy0) / secs) * 100),
      perNode,
      expected: seq * fanout,
      received: rep.received,
      lost: seq * fanout - rep.received,
    };
    console.log(JSON.stringify(out));
    console.error(
      `${mode} ${n} node(s): ${out.deliveriesPerSec} deliveries/s; Redis sent each node ${perNode.map((p) => `${(p.share * 100).toFixed(0)}% (${p.kib} KiB)`).join(", ")} of ${seq} emits; lost ${out.lost}`,
    );
  } finally {
    await clients?.stop();
    await Promise.all(nodes.map((nd) => nd.stop()));
    await redis[Symbol.asyncDispose]();
  }
}

for (const n of a.nodes!.split(",").map(Number)) for (const m of a.modes!.split(",")) await run(n, m as "targeted" | "broadcast");

// Pending bound timers (Bun.sleep in the races) would keep the process alive.
process.exit(0);
