/**
 * Message rates for /stats: a 60-slot ring of per-second samples of monotonically growing
 * totals (events in, deliveries). Sampling a counter once a second keeps the hot path free.
 */
export interface RateTracker {
  /** Take a sample now (called by the timer; exposed for tests). */
  sample(): void;
  /** Per-second rate of each series over the last `seconds` (≤ 60) seconds of samples. */
  rates(seconds?: number): Record<string, number>;
  close(): void;
}

export function createRateTracker(series: Record<string, () => number>, opts: { now?: () => number; timer?: boolean } = {}): RateTracker {
  const now = opts.now ?? Date.now;
  const names = Object.keys(series);
  const SLOTS = 61;
  const ring: Array<{ t: number; v: number[] } | undefined> = new Array(SLOTS);
  let head = 0;
  const read = () => names.map((n) => series[n]!());
  const take = () => {
    ring[head] = { t: now(), v: read() };
    head = (head + 1) % SLOTS;
  };
  take();
  const timer = opts.timer === false ? null : setInterval(take, 1000);
  timer?.unref();

  return {
    sample: take,
    rates(seconds = 60) {
      const latest = { t: now(), v: read() };
      // Oldest sample no older than `seconds` (the ring holds at most 60 s of history).
      let oldest: { t: number; v: number[] } | undefined;
      for (let i = 0; i < SLOTS; i++) {
        const s = ring[(head + i) % SLOTS];
        if (s && latest.t - s.t <= seconds * 1000) {
          oldest = s;
          break;
        }
      }
      const out: Record<string, number> = {};
      const span = oldest ? (latest.t - oldest.t) / 1000 : 0;
      names.forEach((n, i) => {
        out[n] = span > 0 ? Math.round(((latest.v[i]! - oldest!.v[i]!) / span) * 100) / 100 : 0;
      });
      return out;
    },
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
