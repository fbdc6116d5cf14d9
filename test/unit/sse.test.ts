import { describe, expect, test } from "bun:test";
import { sanitizeEventName, sseData, sseEnvelopeFormat, sseFormat } from "../../src/protocols/sse/codec.ts";

describe("SSE format", () => {
  const msg = (args: unknown[], event = "update") => ({ event, args, namespace: "/", rooms: ["time"] });
  test.each([
    [[{ time: 1 }], '{"time":1}'],
    [[], "null"],
    [["a", 2], '["a",2]'],
    // One array argument looks like two arguments: documented; the envelope tells them apart.
    [[[1, 2]], "[1,2]"],
    [["line\nbreak\r"], '"line\\nbreak\\r"'],
  ])("data for args %j", (args, data) => {
    expect(sseData(args)).toBe(data);
    expect(sseFormat.encode(msg(args), "time")).toBe(`event: update\ndata: ${data}\n\n`);
  });
  test("event names cannot break the frame", () => {
    expect(sanitizeEventName("a\r\ndata: forged")).toBe("a__data: forged");
    expect(sseFormat.encode(msg([1], "x\nevent: y"), null)).toBe("event: x_event: y\ndata: 1\n\n");
  });
  test("envelope carries room and name in one unnamed event", () => {
    expect(sseEnvelopeFormat.encode(msg([{ t: 1 }]), "time")).toBe('data: {"type":"event","room":"time","event":"update","data":{"t":1}}\n\n');
    expect(sseEnvelopeFormat.encode(msg(["a", "b"]), null)).toBe('data: {"type":"event","event":"update","args":["a","b"]}\n\n');
  });
});
