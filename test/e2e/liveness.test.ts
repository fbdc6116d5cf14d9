import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

const RAW_CLIENT = resolve(import.meta.dir, "../helpers/raw_ws_client.py");

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--heartbeat", "300ms", "--max-buffer", "64k", "--max-rooms", "3", "--max-join-failures", "3", "--max-bad-frames", "3", "--roomspace-secret", "p=pw"]);
});
afterAll(() => srv.stop());

async function metric(name: string, base = srv.url): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** A stdlib Python client that misbehaves on purpose (see raw_ws_client.py). */
function rawClient(mode: "noread" | "nopong", path = "/ws?room=flood", base = srv.url) {
  const port = new URL(base).port;
  const proc = Bun.spawn(["python3", RAW_CLIENT, "127.0.0.1", port, path, mode], { stdout: "pipe", stdin: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let buf = "";
  const nextLine = async () => {
    while (!buf.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) return buf;
      buf += new TextDecoder().decode(value);
    }
    const i = buf.indexOf("\n");
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return line;
  };
  return { proc, nextLine };
}

describe("abuse limits", () => {
  test("failed joins beyond the limit close with 4008", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    for (let i = 0; i < 4; i++) c.send({ type: "join", room: "p::x", secret: "bad" });
    expect(await c.closed).toEqual({ code: 4008, reason: "too many failed joins" });
    expect(c.received.filter((m) => m.code === "forbidden").length).toBe(4);
  });

  test("malformed frames get error frames, then close with 4009", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send("not json");
    expect(await c.next()).toMatchObject({ type: "error", code: "bad_request" });
    c.send({ type: "teleport" });
    expect((await c.next()).message).toContain("unknown frame type");
    c.ws.send(new Uint8Array([1, 2, 3]));
    c.send("[]");
    expect(await c.closed).toEqual({ code: 4009, reason: "too many malformed frames" });
  });

  test("rooms per connection are capped with a clear error", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    for (const r of ["a", "b", "c", "d"]) c.send({ type: "join", room: r });
    for (const r of ["a", "b", "c"]) expect(await c.next()).toEqual({ type: "joined", room: r });
    expect(await c.next()).toMatchObject({ type: "error", code: "too_many_rooms", room: "d" });
    c.send({ type: "leave", room: "a" });
    expect(await c.next()).toEqual({ type: "left", room: "a" });
    c.send({ type: "join", room: "d" });
    expect(await c.next()).toEqual({ type: "joined", room: "d" });
    c.close();
  });

  test("frames over --max-message close with 1009", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ type: "join", room: "x".repeat(70_000) });
    expect((await c.closed).code).toBe(1009);
  });
});

describe("slow and dead clients", () => {
  test("a client that stops reading is closed while others keep receiving", async () => {
    // A server of its own with a long heartbeat: on a slow machine the 300 ms heartbeat of the
    // shared one could reap the stalled client before its buffers fill, and that is counted
    // as heartbeat_timeout, which is not what this test is about.
    const own = await startWsEmit(["--heartbeat", "60s", "--max-buffer", "64k"]);
    try {
      const good = await openWs(`${own.wsUrl}/ws?room=flood`);
      await good.next();
      const slow = rawClient("noread", "/ws?room=flood", own.url);
      expect(await slow.nextLine()).toBe("OPEN");
      const before = await metric('ws_emit_drops_total{reason="backpressure"}', own.url);
      const payload = "z".repeat(60_000);
      // Kernel buffers take a few MiB before Bun's own 64 KiB fills: emit until the stalled
      // client is gone (the emit reaches only the good one), bounded at 120 MB sent.
      let i = 0;
      let alone = false;
      for (; i < 2000 && !alone; i++) {
        const r = await emit(own.url, { event: "big", room: "flood", data: { i, payload } });
        expect(r.status).toBe(200);
        alone = r.body.delivered === 1;
        // Drain the good client as we go so only the stalled one backs up.
        expect((await good.next((m) => m.type === "event")).data.i).toBe(i);
      }
      expect(alone).toBe(true);
      // Those after it still reach the good client.
      for (let j = i; j < i + 5; j++) {
        expect((await emit(own.url, { event: "big", room: "flood", data: { i: j, payload } })).body.delivered).toBe(1);
        expect((await good.next((m) => m.type === "event")).data.i).toBe(j);
      }
      // Counted: the frame Bun refused for the stalled client before closing it.
      expect(await metric('ws_emit_drops_total{reason="backpressure"}', own.url)).toBeGreaterThanOrEqual(before + 1);
      good.close();
      slow.proc.kill();
    } finally {
      await own.stop();
    }
  });

  test("the heartbeat terminates a client that never answers pings; live clients stay", async () => {
    const live = await openWs(`${srv.wsUrl}/ws`);
    const dead = rawClient("nopong", "/ws");
    expect(await dead.nextLine()).toBe("OPEN");
    // Terminated after two silent heartbeat intervals: the raw client sees EOF.
    expect(await dead.nextLine()).toBe("CLOSED");
    expect(await metric('ws_emit_drops_total{reason="heartbeat_timeout"}')).toBeGreaterThanOrEqual(1);
    // The Bun client answers pings by itself and is still served.
    live.send({ type: "ping", id: 1 });
    expect(await live.next()).toEqual({ type: "pong", id: 1 });
    live.close();
  });
});
