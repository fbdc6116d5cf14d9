/** The partition interest bookkeeping (src/engine/interest.ts) against a recording subscriber. */
import { expect, test } from "bun:test";
import { createInterest } from "../../src/engine/interest.ts";

function setup(lingerMs = 1000) {
  let t = 0;
  const calls: string[] = [];
  let confirm: Array<() => void> = [];
  let up = true;
  const released: string[] = [];
  const i = createInterest({
    pinned: ["b"],
    subscribe: (chs) => {
      calls.push(`sub ${chs.join(",")}`);
      return new Promise<void>((r) => confirm.push(r));
    },
    unsubscribe: async (chs) => void calls.push(`unsub ${chs.join(",")}`),
    connected: () => up,
    released: (ch) => void released.push(ch),
    onError: () => {},
    lingerMs,
    waitMs: 10_000,
    now: () => t,
  });
  const confirmAll = () => {
    for (const c of confirm.splice(0)) c();
  };
  return { i, calls, released, confirmAll, advance: (ms: number) => (t += ms), setUp: (u: boolean) => (up = u) };
}

const tick = () => Bun.sleep(1);

test("ensures in one tick become one SUBSCRIBE; each resolves only once Redis confirmed it", async () => {
  const s = setup();
  let done = 0;
  const w = [s.i.ensure("p1"), s.i.ensure("p2"), s.i.ensure("p1")];
  for (const p of w) p!.then(() => done++);
  await tick();
  expect(s.calls).toEqual(["sub p1,p2"]);
  expect(done).toBe(0);
  s.confirmAll();
  await Promise.all(w);
  expect(done).toBe(3);
  expect(s.i.held().sort()).toEqual(["p1", "p2"]);
  // Held already: nothing to wait for.
  expect(s.i.ensure("p1")).toBeUndefined();
});

test("a partition is released only after the linger, in one UNSUBSCRIBE; the pinned channel never", async () => {
  const s = setup(1000);
  const first = s.i.resubscribeAll();
  s.confirmAll();
  await first;
  s.i.ref("p1", 1);
  s.i.ref("p2", 1);
  await tick();
  s.confirmAll();
  await tick();
  expect(s.i.held().sort()).toEqual(["b", "p1", "p2"]);
  s.i.ref("p1", -1);
  s.i.ref("p2", -1);
  s.advance(500);
  s.i.sweep();
  expect(s.calls.filter((c) => c.startsWith("unsub"))).toEqual([]);
  // Churn: p2 is joined again within the linger and stays.
  s.i.ref("p2", 1);
  s.advance(600);
  s.i.sweep();
  expect(s.calls.filter((c) => c.startsWith("unsub"))).toEqual(["unsub p1"]);
  expect(s.released).toEqual(["p1"]);
  expect(s.i.held().sort()).toEqual(["b", "p2"]);
});

test("a lost connection holds nothing; resubscribeAll asks for everything still wanted", async () => {
  const s = setup();
  s.i.ref("p1", 1);
  await tick();
  s.confirmAll();
  await tick();
  s.i.lost();
  expect(s.i.held()).toEqual([]);
  s.calls.length = 0;
  const again = s.i.resubscribeAll();
  s.confirmAll();
  await again;
  expect(s.calls).toEqual(["sub b,p1"]);
  expect(s.i.held().sort()).toEqual(["b", "p1"]);
  // A confirmation from before a loss does not count.
  s.i.ref("p3", 1);
  await tick();
  s.i.lost();
  s.confirmAll();
  await tick();
  expect(s.i.isHeld("p3")).toBe(false);
});
