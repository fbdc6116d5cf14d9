import { describe, expect, test } from "bun:test";
import { decode, encode } from "notepack.io";
import { parseEmitterMessage } from "../../src/ingest/emitter.ts";
import { msgpackShapeError } from "../../src/ingest/msgpack-shape.ts";

const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s/g, ""), "hex"));

describe("msgpack framing check before decoding", () => {
  test("every well-framed value the encoder makes passes", () => {
    const values = [null, true, 1, -1, 300, -70000, 2 ** 40, 1.5, "", "x".repeat(40), "y".repeat(300), "z".repeat(70000), Buffer.alloc(3), Buffer.alloc(300), Buffer.alloc(70000),
      [], [1, [2, [3]]], Array(20).fill(0), Array(70000).fill(0), {}, { a: 1, b: { c: [1] } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
      new Date(0), undefined, new ArrayBuffer(5), ["uid", { type: 5, data: ["e", Buffer.from([1, 2])], nsp: "/" }, { rooms: ["a"] }]];
    for (const v of values) {
      const b = new Uint8Array(encode(v));
      expect({ v: typeof v, err: msgpackShapeError(b) }).toEqual({ v: typeof v, err: null });
      decode(Buffer.from(b)); // and the decoder agrees
    }
  });
  test("a length past the end is refused before the decoder allocates it (found by npm run fuzz)", () => {
    // ext32 declaring 310 MB of type 0 (the decoder's ArrayBuffer extension), 8 bytes in all.
    expect(msgpackShapeError(hex("c912797065000000"))).toContain("declares");
    const t0 = performance.now();
    const p = parseEmitterMessage(hex("93a47569643482a4ce20ea09c91279706500a36e7382a4ce79706500a36e79706500a36e79706500a36e7382a4ce79706500a36e7370a12f80"));
    expect(p.ok).toBe(false);
    // Far below the 55 s the decoder took on this 57-byte message (a bound, not a benchmark).
    expect(performance.now() - t0).toBeLessThan(1000);
  });
  test("truncated, oversized containers, trailing bytes, reserved bytes, deep nesting", () => {
    expect(msgpackShapeError(hex("92 01 d9"))).toBe("truncated");
    expect(msgpackShapeError(hex("92 01"))).toContain("declares 2 values");
    expect(msgpackShapeError(hex("dd ffffffff 01"))).toContain("container declares");
    expect(msgpackShapeError(hex("df 7fffffff"))).toContain("container declares");
    expect(msgpackShapeError(hex("01 02"))).toContain("after the value");
    expect(msgpackShapeError(hex("c1"))).toContain("reserved");
    expect(msgpackShapeError(hex("db 00000005 61"))).toContain("declares 5 bytes");
    expect(msgpackShapeError(new Uint8Array([...Array(10_001).fill(0x91), 0x01]))).toContain("nest deeper");
    expect(msgpackShapeError(new Uint8Array([...Array(10_000).fill(0x91), 0x01]))).toBeNull();
  });
});
