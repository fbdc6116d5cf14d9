/**
 * A real Redis Cluster for one test file: N masters (redis-server --cluster-enabled yes) on
 * free loopback ports, joined with `redis-cli --cluster create … --cluster-replicas 0`, ready
 * once every node reports cluster_state:ok.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { redisCli } from "./redis.ts";

/**
 * `n` distinct free ports whose cluster-bus ports (port + 10000) are free too; every listener
 * stays open until all are taken, so none repeats. Bounded tries over 20000–45000.
 */
function freeClusterPorts(n: number): number[] {
  const held: Array<{ stop(force?: boolean): void }> = [];
  const ports: number[] = [];
  const tryListen = (port: number) => {
    try {
      const s = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      held.push(s);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 500 && ports.length < n; i++) {
    const p = 20000 + Math.floor(Math.random() * 25000);
    if (ports.includes(p) || ports.includes(p - 10000) || ports.includes(p + 10000)) continue;
    if (tryListen(p) && tryListen(p + 10000)) ports.push(p);
  }
  for (const s of held) s.stop(true);
  if (ports.length < n) throw new Error(`found only ${ports.length} of ${n} free port pairs`);
  return ports;
}

export interface RedisCluster {
  ports: number[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` */
  url: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function startNode(port: number, dir: string): Promise<Bun.Subprocess<"ignore", "pipe", "pipe">> {
  const proc = Bun.spawn(
    ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--save", "", "--appendonly", "no", "--dir", dir],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let out = "";
  while (!out.includes("Ready to accept connections")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`redis-server on ${port} did not start:\n${out}`);
    out += dec.decode(value);
  }
  // Keep draining stdout so redis-server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) {}
  })();
  return proc;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "ws-emit-cluster-"));
  const ports = freeClusterPorts(masters);
  const started = await Promise.allSettled(ports.map((p) => startNode(p, dir)));
  const procs = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    // Never leave the nodes that did start running behind a failed start.
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw (failed as PromiseRejectedResult).reason;
  }
  const stop = async () => {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
  };
  try {
    const create = Bun.spawn(["redis-cli", "--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(create.stdout).text(), new Response(create.stderr).text(), create.exited]);
    if (code !== 0 || !out.includes("All 16384 slots covered")) throw new Error(`redis-cli --cluster create failed (${code}):\n${out}\n${err}`);
    // The nodes learn of each other by gossip: wait (bounded) until each says the cluster is ok.
    for (const p of ports) {
      for (let i = 0; ; i++) {
        if ((await redisCli(p, "CLUSTER", "INFO")).includes("cluster_state:ok")) break;
        if (i >= 200) throw new Error(`cluster node ${p} never reached cluster_state:ok`);
        await Bun.sleep(50); // gossip has no event to await from outside
      }
    }
  } catch (e) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ports,
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
