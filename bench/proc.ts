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
