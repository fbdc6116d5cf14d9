/** RSS and CPU time of processes, from /proc. */
import { readFileSync } from "node:fs";

const CLK_TCK = 100;

export function rssKiB(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) sum += Number(m[1]);
    } catch {}
  }
  return sum;
}

/** utime+stime of the processes, in seconds. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15 of stat
    } catch {}
  }
  return ticks / CLK_TCK;
}

/** CPU seconds all cores spent busy (user, nice, system, irq, softirq, steal), from /proc/stat. */
export function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / CLK_TCK;
}

/**
 * Other engineers' work shares this machine: wait (bounded) until the CPU that processes
 * outside `ours` use drops below `maxPct` of one core over a 0.5 s sample. Returns the seconds
 * waited and the last sample.
 */
export async function waitForQuiet(ours: number[], maxPct: number, maxSeconds: number): Promise<{ waited: number; otherPct: number }> {
  const t0 = performance.now();
  let otherPct = 0;
  for (;;) {
    const b0 = machineBusySeconds();
    const o0 = cpuSeconds(ours);
    await Bun.sleep(500);
    otherPct = Math.round(((machineBusySeconds() - b0 - (cpuSeconds(ours) - o0)) / 0.5) * 100);
    const waited = (performance.now() - t0) / 1000;
    if (otherPct < maxPct || waited >= maxSeconds) return { waited: Math.round(waited), otherPct };
  }
}
