/**
 * Where does a connection's memory go? Start a server from source with heap-preload.ts, print
 * heap stats before and after opening n WebSockets.  bun bench/profile/heap-diff.ts <ws-emit|raw> [n=5000] [native|sio]
 */
import { resolve } from "node:path";
import { BUN, ROOT, rssKiB, spawnClients } from "./common.ts";
const which = process.argv[2] ?? "ws-emit";
const N = Number(process.argv[3] ?? 5000);
const MODE = process.argv[4] ?? "native";
const cmd = which === "raw" ? [resolve(import.meta.dir, "../peers/bun-raw.ts")] : [resolve(ROOT, "src/cli.ts"), "--address", "127.0.0.1:0", "--max-connections", "50000", "--redis", "none"];
const proc = Bun.spawn([BUN, "--preload", resolve(import.meta.dir, "heap-preload.ts"), ...cmd], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH!, HOME: "/tmp", NO_COLOR: "1" } });
let url = "";
const out = (async () => {
  for await (const c of proc.stdout as ReadableStream<Uint8Array>) {
    const t = new TextDecoder().decode(c);
    url ||= /listening on (http:\/\/[^\s"]+)/.exec(t)?.[1] ?? "";
  }
})();
(async () => {
  for await (const c of proc.stderr as ReadableStream<Uint8Array>) process.stdout.write(new TextDecoder().decode(c));
})();
let c: ReturnType<typeof spawnClients> | undefined;
try {
  for (let i = 0; !url && i < 300; i++) await Bun.sleep(50);
  if (!url) throw new Error("server did not start within 15 s");
  await Bun.sleep(1000);
  process.kill(proc.pid, "SIGUSR2");
  await Bun.sleep(500);
  c = spawnClients([url.replace(/^http/, "ws"), String(N), which === "raw" ? "native" : MODE, "idle"]);
  await c.next(/^open/);
  await Bun.sleep(2000);
  console.log(`rss before gc ${rssKiB(proc.pid)}`);
  process.kill(proc.pid, "SIGUSR2");
  await Bun.sleep(1000);
  if (process.env.SNAPSHOT) {
    process.kill(proc.pid, "SIGUSR1");
    await Bun.sleep(5000);
  }
} finally {
  await c?.stop();
  process.kill(proc.pid, "SIGKILL");
  await proc.exited;
}
void out;
