/**
 * Compression: what accepting permessage-deflate would cost. Browsers (and Bun's WebSocket
 * client, which the load generator uses) offer it on every connection; ws-emit declines it.
 * Bun's stack with it on is measured on bun-raw (DEFLATE=1: perMessageDeflate and compressed
 * publish), paired with bun-raw off and ws-emit (declining), in alternating order:
 * deliveries/s, server CPU per delivery, and bytes on the loopback per delivery.
 *
 *   bun bench/scale-deflate.ts [--repeat 3] [--subs 1000] [--messages 3000]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Result, Spec } from "./loadgen.ts";
import { ROOT } from "./scale-common.ts";

const { values: a } = parseArgs({ options: { repeat: { type: "string", default: "3" }, subs: { type: "string", default: "1000" }, messages: { type: "string", default: "3000" } } });
const BUN = process.execPath;

/** Bytes the loopback interface carried (both directions; the run is almost all server → client). */
function loBytes(): number {
  const line = readFileSync("/proc/net/dev", "utf8").split("\n").find((l) => l.trim().startsWith("lo:"))!;
  return Number(line.split(":")[1]!.trim().split(/\s+/)[0]);
}

async function start(cmd: string[], env: Record<string, string>): Promise<{ base: string; pid: number; stop(): Promise<void> }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const dec = new TextDecoder();
  let out = "";
  let base = "";
  for await (const c of proc.stdout) {
    out += dec.decode(c);
    const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(out);
    if (m) {
      base = m[1]!;
      break;
    }
  }
  void (async () => {
    for await (const _ of proc.stdout) {
    }
  })();
  if (!base) throw new Error(`${cmd.join(" ")} did not start: ${out}`);
  return { base, pid: proc.pid, stop: async () => void (proc.kill("SIGKILL"), await proc.exited) };
}

const configs = {
  "bun-raw deflate": () => start([BUN, join(ROOT, "bench/peers/bun-raw.ts")], { DEFLATE: "1" }),
  "bun-raw": () => start([BUN, join(ROOT, "bench/peers/bun-raw.ts")], {}),
  "ws-emit (declines)": () => start([join(ROOT, "dist/ws-emit"), "--address", "127.0.0.1:0", "--redis", "none", "--max-connections", "200000"], {}),
};

const rows: Array<Record<string, unknown>> = [];
for (let rep = 1; rep <= Number(a.repeat); rep++) {
  // Alternate the order so a busy neighbour does not always hit the same configuration.
  const names = Object.keys(configs) as Array<keyof typeof configs>;
  if (rep % 2 === 0) names.reverse();
  for (const name of names) {
    const srv = await configs[name]();
    const spec: Spec = {
      mode: "deliver", protocol: "native", base: srv.base, subPath: "/ws?room={room}", rooms: "one", subscribers: Number(a.subs), messages: Number(a.messages),
      maxSeconds: 10, window: 32, batch: 8, concurrency: 1, publish: { kind: "http-batch", url: `${srv.base}/emit` }, pids: [srv.pid],
      connectConcurrency: 256, connectSeconds: 60, settleMs: 0,
    };
    const lo0 = loBytes();
    const lg = Bun.spawn([BUN, join(ROOT, "bench/loadgen.ts"), JSON.stringify(spec)], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    let line = "";
    const dec = new TextDecoder();
    for await (const c of lg.stdout) {
      line += dec.decode(c);
      if (line.includes("\n")) break;
    }
    const lo = loBytes() - lo0;
    await srv.stop();
    lg.stdin.end();
    await Promise.race([lg.exited, Bun.sleep(35_000)]);
    const r = JSON.parse(line.split("\n")[0]!) as Result;
    const row = {
      config: name, rep, delivered: r.delivered, lost: r.lost, deliveriesPerSec: Math.round(r.deliveriesPerSec), serverCpuPct: r.serverCpuPct,
      cpuUsPerDelivery: +((r.serverCpuPct / 100 / r.deliveriesPerSec) * 1e6).toFixed(3), loBytesPerDelivery: +(lo / r.delivered).toFixed(1), otherCpuPct: r.otherCpuPct,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
