/**
 * Our Socket.IO / Engine.IO codec against the official parsers (socket.io-parser,
 * engine.io-parser): what we send decodes to the same packet, what clients send parses
 * to the same fields, and what the official decoder rejects we reject too.
 */
import { describe, expect, test } from "bun:test";
import * as eio from "engine.io-parser";
import { Decoder, Encoder, PacketType } from "socket.io-parser";
import { nativeFormat } from "../../src/protocols/native/codec.ts";
import {
  encodeAck,
  encodeConnect,
  encodeConnectError,
  encodeBinaryEvent,
  encodeDisconnect,
  encodeEvent,
  encodeOpen,
  parseClientEvent,
  parseEnginePacket,
  parseSioPacket,
  RECORD_SEP,
  sioFormat,
} from "../../src/protocols/socketio/codec.ts";

const encoder = new Encoder();
/** The official encoding of a Socket.IO packet inside an Engine.IO message. */
const official = (p: { type: PacketType; nsp: string; data?: unknown; id?: number }) => {
  const out = encoder.encode(p as any);
  expect(out.length).toBe(1); // no binary attachments
  return `4${out[0]}`;
};
/** Decode with the official decoder; throws what it throws. */
function officialDecode(s: string): any {
  const d = new Decoder();
  let got: any;
  d.on("decoded", (p: any) => (got = p));
  d.add(s);
  return got;
}

const NS = ["/", "/chat", "/a/b-c.d"];
const ARGS: unknown[][] = [[], [{ time: 1639178370 }], [1, "two", null, [3]], ["ünïcødé ✓ \u2028", { nested: { a: [true, false] } }]];

describe("server → client encodings equal socket.io-parser's", () => {
  test("events (the hub frame) in every namespace with 0..n arguments", () => {
    for (const nsp of NS)
      for (const args of ARGS) {
        const mine = encodeEvent(nsp, "update", args);
        expect(mine).toBe(official({ type: PacketType.EVENT, nsp, data: ["update", ...args] }));
        expect(sioFormat.encode({ event: "update", args, namespace: nsp, rooms: ["time"] }, "time")).toBe(mine);
      }
  });

  test("connect, connect_error, ack, disconnect", () => {
    for (const nsp of NS) {
      expect(encodeConnect(nsp, "abc")).toBe(official({ type: PacketType.CONNECT, nsp, data: { sid: "abc" } }));
      expect(encodeConnectError(nsp, "Invalid namespace")).toBe(official({ type: PacketType.CONNECT_ERROR, nsp, data: { message: "Invalid namespace" } }));
      expect(encodeAck(nsp, 12, [{ ok: true }])).toBe(official({ type: PacketType.ACK, nsp, id: 12, data: [{ ok: true }] }));
      expect(encodeDisconnect(nsp)).toBe(official({ type: PacketType.DISCONNECT, nsp }));
    }
  });

  test("Engine.IO open packet and a polling payload decode with engine.io-parser", () => {
    const open = encodeOpen({ sid: "s1", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 });
    const p = eio.decodePacket(open);
    expect(p.type).toBe("open");
    expect(JSON.parse(p.data as string)).toEqual({ sid: "s1", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 });
    const frames = [encodeEvent("/", "a", [1]), "2", encodeEvent("/x", "b", [])];
    const decoded = eio.decodePayload(frames.join(RECORD_SEP));
    expect(decoded.map((d) => [d.type, d.data])).toEqual([
      ["message", '2["a",1]'],
      ["ping", undefined],
      ["message", '2/x,["b"]'],
    ]);
  });

  test("an emit with bytes is a BINARY_EVENT plus its attachments, as socket.io-parser encodes it", () => {
    const bufs = [new Uint8Array([0, 1, 255]), new Uint8Array([])];
    for (const nsp of NS) {
      const parts = encodeBinaryEvent(nsp, "img", [{ a: { _placeholder: true, num: 0 } }, 2, { _placeholder: true, num: 1 }], bufs).parts;
      const theirs = encoder.encode({ type: PacketType.EVENT, nsp, data: ["img", { a: Buffer.from(bufs[0]!) }, 2, Buffer.from(bufs[1]!)] } as any);
      expect(parts[0]).toBe(`4${theirs[0]}`);
      expect(parts.slice(1).map((b) => [...(b as Uint8Array)])).toEqual(theirs.slice(1).map((b: Buffer) => [...b]));
      // And the official decoder puts the bytes back where they were.
      const d = new Decoder();
      let got: any;
      d.on("decoded", (p: any) => (got = p));
      d.add((parts[0] as string).slice(1));
      for (const b of parts.slice(1)) d.add(b);
      expect(got.data[0]).toBe("img");
      expect([...got.data[1].a]).toEqual([0, 1, 255]);
      expect(got.data[2]).toBe(2);
    }
    const msg = { event: "img", args: ["AAH/"], namespace: "/", rooms: null, binary: { args: [{ _placeholder: true, num: 0 }], buffers: [bufs[0]!] } };
    expect(sioFormat.encode(msg, null)).toEqual({ parts: ['451-["img",{"_placeholder":true,"num":0}]', bufs[0]!] });
    // The text formats see base64.
    expect(JSON.parse(nativeFormat.encode(msg, null)).data).toBe("AAH/");
  });

  test("the format is not the native one (one encoding per format)", () => {
    expect(sioFormat.id).not.toBe(nativeFormat.id);
  });
});

describe("client → server packets parse like socket.io-parser decodes them", () => {
  const cases = [
    { type: PacketType.CONNECT, nsp: "/" },
    { type: PacketType.CONNECT, nsp: "/chat", data: { token: "t" } },
    { type: PacketType.DISCONNECT, nsp: "/chat" },
    { type: PacketType.EVENT, nsp: "/", data: ["join", { room: "time" }] },
    { type: PacketType.EVENT, nsp: "/", id: 1, data: ["join", { room: "dir::a.txt", secret: "S" }] },
    { type: PacketType.EVENT, nsp: "/ns", id: 4294, data: ["leave", { room: "time" }] },
    { type: PacketType.ACK, nsp: "/", id: 3, data: ["x"] },
  ];
  for (const c of cases)
    test(JSON.stringify(c), () => {
      const wire = encoder.encode(c as any)[0] as string;
      const theirs = officialDecode(wire);
      const mine = parseSioPacket(wire);
      expect(mine.ok).toBe(true);
      if (!mine.ok) return;
      const v = mine.value;
      expect(v.nsp).toBe(theirs.nsp);
      if (v.type === "event") {
        expect([v.event, ...v.args]).toEqual(theirs.data);
        expect(v.id ?? undefined).toBe(theirs.id);
      } else if (v.type === "ack") expect([v.id, v.args]).toEqual([theirs.id, theirs.data]);
      else if (v.type === "connect") expect(v.auth).toEqual(theirs.data);
      expect(theirs.type).toBe({ connect: 0, disconnect: 1, event: 2, ack: 3 }[v.type]);
    });

  test("what the official decoder rejects, we reject", () => {
    const bad = ["9", '2{"a":1}', "2[", '2["connect"]', '2["disconnect",1]', '1["x"]', "0[1]", "0/ns,[]"];
    for (const s of bad) {
      expect(() => officialDecode(s)).toThrow();
      expect(parseSioPacket(s).ok).toBe(false);
    }
    // Stricter than the official decoder: an event without [name] and an ack without an id mean nothing to us.
    for (const s of ["2", '3["no id"]']) {
      expect(officialDecode(s)).toBeDefined();
      expect(parseSioPacket(s).ok).toBe(false);
    }
  });

  test("binary attachments are refused with a clear error", () => {
    const r = parseSioPacket('51-["up",{"_placeholder":true,"num":0}]');
    expect(r).toEqual({ ok: false, error: "binary attachments are not supported: send base64 text instead", unsupported: true });
    // With an ack id (and a namespace), the refusal says where to answer.
    expect(parseSioPacket('51-/chat,7["join",{"_placeholder":true,"num":0}]')).toMatchObject({ ok: false, ack: { nsp: "/chat", id: 7 } });
    expect(parseSioPacket('51-12["join",{"_placeholder":true,"num":0}]')).toMatchObject({ ok: false, ack: { nsp: "/", id: 12 } });
    expect(parseEnginePacket("bAQID")).toEqual({ ok: false, error: "binary packets are not supported", unsupported: true });
  });

  test("Engine.IO packet types", () => {
    expect(parseEnginePacket("2probe")).toEqual({ ok: true, value: { type: "ping", data: "probe" } });
    expect(parseEnginePacket("3")).toEqual({ ok: true, value: { type: "pong", data: "" } });
    expect(parseEnginePacket("5")).toEqual({ ok: true, value: { type: "upgrade" } });
    expect(parseEnginePacket("1")).toEqual({ ok: true, value: { type: "close" } });
    expect(parseEnginePacket("42[]")).toEqual({ ok: true, value: { type: "message", data: "2[]" } });
    expect(parseEnginePacket("").ok).toBe(false);
    expect(parseEnginePacket("0{}").ok).toBe(false);
    expect(parseEnginePacket("7").ok).toBe(false);
  });
});

describe("join / leave arguments", () => {
  test("object with room (and secret) only", () => {
    expect(parseClientEvent("join", [{ room: "dir::a", secret: "S" }])).toEqual({ ok: true, value: { kind: "join", room: "dir::a", secret: "S", token: undefined } });
    expect(parseClientEvent("leave", [{ room: "time" }])).toEqual({ ok: true, value: { kind: "leave", room: "time" } });
    expect(parseClientEvent("join", ["time"]).ok).toBe(false);
    expect(parseClientEvent("join", []).ok).toBe(false);
    expect(parseClientEvent("join", [{}]).ok).toBe(false);
    expect(parseClientEvent("chat", ["anything"])).toEqual({ ok: true, value: { kind: "other" } });
  });
});

describe("EVENT payloads as socket.io-parser judges them (issue 11)", () => {
  test("a numeric event name is valid; an object, an empty array or a bad ack id is not", () => {
    expect(officialDecode('2[1,"x"]').data).toEqual([1, "x"]);
    expect(parseSioPacket('2[1,"x"]')).toEqual({ ok: true, value: { type: "event", nsp: "/", id: null, event: "1", args: ["x"] } });
    for (const bad of ["2{}", "2[]", '2abc["m",1]']) {
      expect(() => officialDecode(bad)).toThrow();
      expect(parseSioPacket(bad).ok).toBe(false);
    }
  });
});
