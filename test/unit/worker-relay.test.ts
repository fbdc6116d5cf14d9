/** The relay framing between workers (src/protocols/socketio/worker-relay.ts): frames cut anywhere, oversize refused. */
import { expect, test } from "bun:test";
import { encodeFrame, frameReader } from "../../src/protocols/socketio/worker-relay.ts";

const enc = new TextEncoder();

test("frames split at every byte boundary come out whole and in order", () => {
  const frames = [encodeFrame(1, enc.encode("2probe")), encodeFrame(2, new Uint8Array([0, 255, 7])), encodeFrame(1, enc.encode("x".repeat(300)))];
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) (all.set(f, o), (o += f.length));
  for (let cut = 0; cut <= all.length; cut++) {
    const got: Array<[number, number[]]> = [];
    const read = frameReader(1000, (k, p) => void got.push([k, [...p]]));
    expect(read(all.slice(0, cut))).toBe(true);
    expect(read(all.slice(cut))).toBe(true);
    expect(got.map(([k]) => k)).toEqual([1, 2, 1]);
    expect(new TextDecoder().decode(new Uint8Array(got[0]![1]))).toBe("2probe");
    expect(got[1]![1]).toEqual([0, 255, 7]);
    expect(got[2]![1].length).toBe(300);
  }
});

test("a frame over the limit, or of length 0, is refused before it is buffered", () => {
  expect(frameReader(10, () => {})(encodeFrame(1, new Uint8Array(11)))).toBe(false);
  expect(frameReader(10, () => {})(new Uint8Array([0, 0, 0, 0]))).toBe(false);
  // The header alone says it: 4 GiB announced, nothing more sent.
  expect(frameReader(10, () => {})(new Uint8Array([255, 255, 255, 255]))).toBe(false);
});
