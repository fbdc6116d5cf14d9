/**
 * Hub delivery cost in process (bounded, a few seconds): ns per `hub.deliver` with the real
 * server's formats and stand-in sockets (publish counts, copies nothing), so only the hub's own
 * work is measured, not uWS copying frames. Compares this tree's src/core/hub.ts with the one of a
 * git revision (default: main), alternating rounds so both see the same machine state:
 *   - single room, subscribers in native and Socket.IO: the fast path, expected unchanged;
 *   - single room nobody here is in (most emits on a busy cluster node); broadcast;
 *   - three rooms with overlapping Socket.IO and SSE members: the once-per-client path
 *     (the baseline delivers duplicates there, so its number is not a like-for-like cost).
 * Run: bun bench/hub-deliver.ts [iterations=200000] [rounds=5] [baseline-rev=main]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ServerWebSocket } from "bun";
import type { Hub, Sink, createHub as CreateHub } from "../src/core/hub.ts";
import * as current from "../src/core/hub.ts";
import type { EmitMessage } from "../src/core/message.ts";
import { nativeFormat } from "../src/protocols/native/codec.ts";
import { sioFormat } from "../src/protocols/socketio/codec.ts";
import { createSseEnvelopeFormat, createSseFormat } from "../src/protocols/sse/codec.ts";
import { webdisFormat } from "../src/protocols/compat/webdis/codec.ts";
import { wsifyFormat } from "../src/protocols/compat/wsify/codec.ts";
import { wspushFormat, wspushSseFormat } from "../src/protocols/compat/wspush/codec.ts";

const ITER = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const REV = process.argv[4] ?? "main";
const ROOT = resolve(import.meta.dir, "..");

// The baseline hub: src/core/hub.ts at REV, in a temp dir (it imports types only).
const dir = mkdtempSync(join(tmpdir(), "hub-bench-"));
const git = Bun.spawnSync(["git", "show", `${REV}:src/core/hub.ts`], { cwd: ROOT });
if (git.exitCode !== 0) throw new Error(`git show ${REV}:src/core/hub.ts failed: ${git.stderr.toString()}`);
writeFileSync(join(dir, "hub.ts"), git.stdout);
const baseline = (await import(join(dir, "hub.ts"))) as typeof current;
rmSync(dir, { recursive: true, force: true });

/** A stand-in ServerWebSocket: subscriptions only. */
function fakeWs(): ServerWebSocket<unknown> {
  const topics = new Set<string>();
  return {
    subscribe: (t: string) => (topics.add(t), true),
    unsubscribe: (t: string) => void topics.delete(t),
    isSubscribed: (t: string) => topics.has(t),
    send: (f: string) => f.length,
  } as unknown as ServerWebSocket<unknown>;
}
const sink: Sink = { send() {} };
let published = 0;
const publisher = { publish: (_t: string, f: string) => (published += f.length, 1) };

/** A hub with the server's formats, 100 rooms of 10 Socket.IO + 10 native sockets, 2 SSE streams each. */
function build(create: typeof CreateHub): Hub {
  const hub = create(() => publisher as never);
  for (const f of [nativeFormat, sioFormat, createSseFormat(), createSseEnvelopeFormat(), wsifyFormat, webdisFormat, wspushFormat, wspushSseFormat]) hub.addFormat(f);
  for (let r = 0; r < 100; r++) {
    const room = `room-${r}`;
    for (let i = 0; i < 10; i++) {
      // Each Socket.IO socket is in this room and the next one: overlap for multi-room emits.
      const w = fakeWs();
      hub.subscribe({ ws: w }, "sio", "/", room);
      hub.subscribe({ ws: w }, "sio", "/", `room-${(r + 1) % 100}`);
      hub.subscribe({ ws: fakeWs() }, "n", "/", room);
    }
    for (let i = 0; i < 2; i++) hub.subscribe({ sink }, "sse", "/", room);
  }
  hub.subscribe({ ws: fakeWs() }, "sio", "/", null);
  return hub;
}

const msg = (rooms: string[] | null): EmitMessage => ({ event: "update", args: [{ time: 1639178370, file: "a.txt" }], namespace: "/", rooms });
const cases: Array<[string, EmitMessage]> = [
  ["single room (native + Socket.IO + SSE)", msg(["room-7"])],
  ["single room, no local subscriber", msg(["elsewhere"])],
  ["broadcast", msg(null)],
  ["three overlapping rooms", msg(["room-1", "room-2", "room-3"])],
];

function time(hub: Hub, m: EmitMessage): number {
  const t = performance.now();
  for (let i = 0; i < ITER; i++) hub.deliver(m);
  return ((performance.now() - t) * 1e6) / ITER;
}

const hubs = { current: build(current.createHub), [REV]: build(baseline.createHub) };
const results = new Map<string, Record<string, number[]>>();
for (const [name, m] of cases) {
  // Warm up both, then alternate.
  for (const h of Object.values(hubs)) time(h, m);
  const per: Record<string, number[]> = { current: [], [REV]: [] };
  for (let r = 0; r < ROUNDS; r++) for (const [k, h] of Object.entries(hubs)) per[k]!.push(time(h, m));
  results.set(name, per);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`hub.deliver, ns per call (median of ${ROUNDS} rounds of ${ITER.toLocaleString("en")}); baseline = src/core/hub.ts at ${REV}`);
for (const [name, per] of results) {
  const c = median(per.current!);
  const b = median(per[REV]!);
  console.log(`  ${name.padEnd(40)} current ${c.toFixed(0).padStart(6)}   ${REV} ${b.toFixed(0).padStart(6)}   ${((c / b - 1) * 100).toFixed(1).padStart(6)}%`);
}
console.log(`  (three rooms: the baseline sends a socket in two of them the event twice; current sends it once)`);
if (published === 0) throw new Error("nothing was published");
