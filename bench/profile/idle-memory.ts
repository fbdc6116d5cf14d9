/**
 * Idle memory per WebSocket connection, ws-emit against bun-raw in the same run.
 *   bun bench/profile/idle-memory.ts [n=5000] [rounds=3] [native|sio]
 * Per round and server: start it fresh, wait 1 s, read VmRSS; open n native WebSockets in one
 * room from a separate process; wait 3 s (and until RSS settles); read VmRSS again.
 * KiB/conn = ΔRSS / n. Reports the median round. ws-emit runs as dist/ws-emit when built
 * (SRC=1: from source).
 */
import { fmt, median, rssKiB, spawnClients, startServer } from "./common.ts";

const N = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 3);
/** sio: ws-emit's sockets are Socket.IO v5 sessions over WebSocket (bun-raw's stay plain). */
const MODE = process.argv[4] ?? "native";

async function measure(which: string): Promise<{ before: number; after: number; per: number }> {
  const srv = await startServer(which);
  try {
    await Bun.sleep(1000);
    const before = rssKiB(srv.pid);
    const c = spawnClients([srv.url.replace(/^http/, "ws"), String(N), which === "raw" ? "native" : MODE, "idle"]);
    try {
      await c.next(/^open /, 60_000);
      let after = rssKiB(srv.pid);
      // Settle: allocation after the handshakes (GC, lazily grown tables).
      for (let i = 0; i < 6; i++) {
        await Bun.sleep(500);
        after = rssKiB(srv.pid);
      }
      return { before, after, per: (after - before) / N };
    } finally {
      await c.stop();
    }
  } finally {
    await srv.stop();
  }
}

// SERVERS=raw,ws-emit,bin:/path/ws-emit adds other builds (A/B); the ratio is ws-emit/raw.
const SERVERS = (process.env.SERVERS ?? "raw,ws-emit").split(",");
const rows: Record<string, number[]> = Object.fromEntries(SERVERS.map((s) => [s, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const which of SERVERS) {
    const m = await measure(which);
    rows[which]!.push(m.per);
    console.log(`round ${r + 1} ${which.padEnd(7)} RSS ${fmt(m.before)} → ${fmt(m.after)} KiB, ${fmt(m.per, 2)} KiB/conn`);
  }
}
for (const w of SERVERS.slice(2)) console.log(`${w}: ${fmt(median(rows[w]!), 2)} KiB/conn`);
const a = median(rows["ws-emit"]!);
const b = median(rows.raw!);
console.log(`idle memory ${MODE} (n=${N}, median of ${ROUNDS}): ws-emit ${fmt(a, 2)} KiB/conn, bun-raw ${fmt(b, 2)} KiB/conn, ratio ${(a / b).toFixed(3)} (target ≤ 1.3)`);
