/**
 * Diagnostics preload (bun --preload bench/profile/heap-preload.ts …): on SIGUSR2 print the
 * JS heap size and the object-type counts, before and after a full GC, to stderr.
 */
import { heapStats } from "bun:jsc";
import { readFileSync } from "node:fs";
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]);
process.on("SIGUSR2", () => {
  const show = (label: string) => {
    const h = heapStats();
    const top = Object.entries(h.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k}=${v}`).join(" ");
    console.error(`[heap ${label}] rss=${rss()}KiB heap=${(h.heapSize / 1024).toFixed(0)}KiB cap=${(h.heapCapacity / 1024).toFixed(0)}KiB objects=${h.objectCount} extra=${(h.extraMemorySize/1024).toFixed(0)}KiB ${top}`);
  };
  show("now");
  Bun.gc(true);
  show("gc");
});

/** SIGUSR1: write a JSC heap snapshot to $HEAP_SNAPSHOT (default /tmp/ws-emit-heap.json). */
process.on("SIGUSR1", async () => {
  Bun.gc(true);
  const snap = Bun.generateHeapSnapshot();
  await Bun.write(process.env.HEAP_SNAPSHOT ?? "/tmp/ws-emit-heap.json", JSON.stringify(snap));
  console.error("[heap] snapshot written");
});
