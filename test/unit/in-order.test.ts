import { describe, expect, test } from "bun:test";
import { createInOrder } from "../../src/core/in-order.ts";

describe("createInOrder", () => {
  test("items after an async one wait for it, in order; synchronous ones run at once; overflow is reported", async () => {
    const log: string[] = [];
    const gates: Array<() => void> = [];
    const overflowed: object[] = [];
    const order = createInOrder<object, string>(
      (_k, item) => {
        log.push(item);
        if (item.startsWith("async")) return new Promise<void>((res) => gates.push(res));
      },
      2,
      (k) => overflowed.push(k),
    );
    const a = {};
    const b = {};
    order.push(a, "sync1");
    order.push(a, "async1");
    order.push(a, "after1");
    order.push(a, "async2");
    order.push(a, "dropped"); // backlog holds 2
    order.push(b, "other"); // another key is not held up
    expect(log).toEqual(["sync1", "async1", "other"]);
    expect(overflowed).toEqual([a]);
    gates.shift()!();
    await Bun.sleep(0);
    expect(log).toEqual(["sync1", "async1", "other", "after1", "async2"]);
    order.push(a, "after2");
    gates.shift()!();
    await Bun.sleep(0);
    expect(log.at(-1)).toBe("after2");
    order.push(a, "now");
    expect(log.at(-1)).toBe("now");
  });
});
