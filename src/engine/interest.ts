/**
 * Which fan-out channels this node listens to: the broadcast channel always, a room partition
 * only while a local subscriber is in one of its rooms (or a join is about to add one).
 *
 * Ordering, so that no event is lost around a join: a join first asks `ensure(channel)`,
 * which resolves once Redis confirmed the subscription (at once when it is held already);
 * only then is the client added to the room and told it joined. An emit published after the
 * client saw its join reply is therefore delivered. Subscribes are batched per tick (one
 * SUBSCRIBE for every partition that became wanted meanwhile); a partition whose last local
 * subscriber left is kept for `lingerMs` more and released by a periodic sweep in one
 * UNSUBSCRIBE, so churn (leave then join again) does not thrash Redis.
 *
 * A join never waits longer than `waitMs`: with Redis away the node is unready anyway and
 * public rooms keep working locally.
 */

export interface InterestDeps {
  /** Channels every node holds (broadcast). */
  pinned: string[];
  /** SUBSCRIBE (SSUBSCRIBE); resolves once Redis confirmed every channel. */
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
  /** The subscriber connection is up. */
  connected(): boolean;
  /** A channel is no longer held (its canary, if any, will not come back). */
  released(channel: string): void;
  onError(what: string, e: Error): void;
  lingerMs: number;
  waitMs: number;
  now?: () => number;
}

export interface Interest {
  /** Resolves once `channel` is subscribed (or after waitMs); undefined when it is held already. */
  ensure(channel: string): Promise<void> | undefined;
  /** A local room of this channel gained (+1) or lost (-1) its first/last subscriber. */
  ref(channel: string, d: 1 | -1): void;
  /** Channels confirmed subscribed now (what the canary checks). */
  held(): string[];
  isHeld(channel: string): boolean;
  /** The subscriber (re)connected: subscribe everything wanted in one batch; resolves when confirmed. */
  resubscribeAll(): Promise<void>;
  /** The subscriber connection is gone: nothing is held any more. */
  lost(): void;
  /** Release partitions unused for lingerMs (called periodically). */
  sweep(): void;
  stats(): { held: number; wanted: number };
}

export function createInterest(d: InterestDeps): Interest {
  const now = d.now ?? Date.now;
  const pinned = new Set(d.pinned);
  /** Channel → local room topics in it with subscribers. */
  const refs = new Map<string, number>();
  /** Channel → keep at least until (an ensure() or the last leave plus lingerMs). */
  const keepUntil = new Map<string, number>();
  const held = new Set<string>();
  /** Channel → the SUBSCRIBE in flight that will confirm it. */
  const inFlight = new Map<string, Promise<void>>();
  let queued: Set<string> | null = null;
  let queuedDone: Promise<void> | null = null;
  let release: (() => void) | null = null;
  /** Bumped when the connection is lost: a confirmation from before then means nothing. */
  let generation = 0;

  const wanted = (ch: string) => pinned.has(ch) || (refs.get(ch) ?? 0) > 0 || (keepUntil.get(ch) ?? 0) > now();

  /** Add to the next batch; returns the promise that settles when that batch is confirmed. */
  function queue(ch: string): Promise<void> {
    const f = inFlight.get(ch);
    if (f) return f;
    if (!queued) {
      queued = new Set();
      queuedDone = new Promise<void>((r) => (release = r));
      // One SUBSCRIBE per tick for every channel wanted meanwhile.
      setTimeout(flush, 0);
    }
    queued.add(ch);
    inFlight.set(ch, queuedDone!);
    return queuedDone!;
  }

  function flush() {
    const chs = [...(queued ?? [])];
    const done = release!;
    queued = null;
    queuedDone = null;
    release = null;
    if (chs.length === 0 || !d.connected()) {
      for (const ch of chs) inFlight.delete(ch);
      return done();
    }
    const gen = generation;
    d.subscribe(chs)
      .then(() => {
        if (gen === generation) for (const ch of chs) held.add(ch);
      })
      .catch((e) => d.onError(`subscribe ${chs.length} channel(s)`, e as Error))
      .finally(() => {
        for (const ch of chs) inFlight.delete(ch);
        done();
      });
  }

  return {
    ensure(ch) {
      keepUntil.set(ch, Math.max(keepUntil.get(ch) ?? 0, now() + d.lingerMs));
      if (held.has(ch)) return undefined;
      if (!d.connected()) return Promise.resolve();
      const p = queue(ch);
      return Promise.race([p, Bun.sleep(d.waitMs)]);
    },
    ref(ch, delta) {
      const n = (refs.get(ch) ?? 0) + delta;
      if (n > 0) refs.set(ch, n);
      else {
        refs.delete(ch);
        keepUntil.set(ch, now() + d.lingerMs);
      }
      if (delta > 0 && !held.has(ch) && d.connected()) void queue(ch);
    },
    held: () => [...held],
    isHeld: (ch) => held.has(ch),
    async resubscribeAll() {
      held.clear();
      const gen = ++generation;
      const all = new Set(pinned);
      for (const ch of refs.keys()) all.add(ch);
      for (const [ch, t] of keepUntil) if (t > now()) all.add(ch);
      const chs = [...all];
      await d.subscribe(chs);
      if (gen === generation) for (const ch of chs) held.add(ch);
    },
    lost() {
      generation++;
      held.clear();
    },
    sweep() {
      const t = now();
      const drop: string[] = [];
      for (const ch of held) if (!wanted(ch)) drop.push(ch);
      for (const [ch, until] of keepUntil) if (until <= t) keepUntil.delete(ch);
      if (drop.length === 0 || !d.connected()) return;
      for (const ch of drop) {
        held.delete(ch);
        d.released(ch);
      }
      // A join that wants one of these again queues a SUBSCRIBE, which Redis handles after this.
      d.unsubscribe(drop).catch((e) => d.onError(`unsubscribe ${drop.length} channel(s)`, e as Error));
    },
    stats: () => ({ held: held.size, wanted: new Set([...pinned, ...refs.keys()]).size }),
  };
}
