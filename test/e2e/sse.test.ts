import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emit, startWsEmit, until, type Started } from "../helpers/server.ts";
import { openEventSource, readRawUntil } from "../helpers/sse.ts";

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--roomspace-secret", "dir=S3cret", "--cors", "http://localhost:7788", "--max-rooms", "3", "--heartbeat", "200ms", "--max-buffer", "32k"]);
});
afterAll(() => srv.stop());

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.split(" ").pop()) : 0;
}


/** A raw TCP client that sends the SSE request, waits for the stream to start, then never reads. */
async function stalledReader(base: string, path: string): Promise<{ closed: Promise<void>; end(): void }> {
  let closed!: () => void;
  const closedP = new Promise<void>((r) => (closed = r));
  let seen = "";
  let started!: () => void;
  const startedP = new Promise<void>((r) => (started = r));
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port: Number(new URL(base).port),
    socket: {
      open(s) {
        s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
      },
      data(s, d) {
        seen += d.toString();
        if (seen.includes("retry:")) {
          s.pause(); // stop reading: the kernel buffers fill, then the server's
          started();
        }
      },
      close: () => closed(),
    },
  });
  await startedP;
  return { closed: closedP, end: () => sock.end() };
}

const stats = async () => (await fetch(`${srv.url}/stats`)).json() as Promise<{ connections: number; top_rooms: Record<string, number> }>;

describe("Server-Sent Events with the eventsource client", () => {
  test("events arrive named after the emit, data as JSON (one, none, several arguments); broadcasts too", async () => {
    const c = openEventSource(`${srv.url}/sse?room=time&room=other`, ["update", "ping-less", "multi", "hello"]);
    await c.opened;
    const r = await emit(srv.url, { event: "update", room: "time", data: { time: 1639178370 } });
    expect(r.body.delivered).toBe(1);
    expect(await c.next()).toEqual({ type: "update", data: '{"time":1639178370}' });
    await emit(srv.url, { event: "ping-less", room: "other" });
    expect(await c.next()).toEqual({ type: "ping-less", data: "null" });
    await emit(srv.url, { event: "multi", rooms: ["time", "other"], args: ["a", { b: 2 }] });
    // One stream in two target rooms gets the event once (as Socket.IO's io.to(a).to(b) does).
    expect(await c.next()).toEqual({ type: "multi", data: '["a",{"b":2}]' });
    await emit(srv.url, { event: "hello", data: "everyone" });
    expect(await c.next()).toEqual({ type: "hello", data: '"everyone"' });
    // A room it did not join never shows up.
    expect(c.received.some((e) => e.data.includes("nope"))).toBe(false);
    c.close();
  });

  test("envelope format: every event as a `message` with its name and room", async () => {
    const c = openEventSource(`${srv.url}/sse?room=time&format=envelope`);
    await c.opened;
    await emit(srv.url, { event: "update", room: "time", data: { time: 2 } });
    expect(JSON.parse((await c.next()).data)).toEqual({ type: "event", room: "time", event: "update", data: { time: 2 } });
    c.close();
  });

  test("private room: the right secret streams; a wrong or missing one is a 403 JSON before the stream", async () => {
    const ok = openEventSource(`${srv.url}/sse?room=dir::a.txt&secret=S3cret`, ["changed"]);
    await ok.opened;
    await emit(srv.url, { event: "changed", room: "dir::a.txt", data: "aaa2" });
    expect(await ok.next()).toEqual({ type: "changed", data: '"aaa2"' });
    ok.close();

    for (const q of ["room=dir::a.txt&secret=nope", "room=dir::a.txt", "room=time&room=dir::a.txt&secret=x"]) {
      const res = await fetch(`${srv.url}/sse?${q}`);
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(((await res.json()) as { error: string }).error).toBe("forbidden");
    }
    const bad = openEventSource(`${srv.url}/sse?room=dir::a.txt&secret=nope`);
    await expect(bad.opened).rejects.toMatchObject({ code: 403 });
  });

  test("bad room, unknown format and too many rooms are 400 JSON", async () => {
    const cases: Array<[string, string]> = [
      ["room=a%20b", "bad_request"],
      ["room=", "bad_request"],
      ["room=a&format=xml", "bad_request"],
      ["room=a&room=b&room=c&room=d", "too_many_rooms"],
    ];
    for (const [q, code] of cases) {
      const res = await fetch(`${srv.url}/sse?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
      expect(((await res.json()) as { error: string }).error).toBe(code);
    }
    const es = openEventSource(`${srv.url}/sse?room=a%20b`);
    await expect(es.opened).rejects.toMatchObject({ code: 400 });
    expect((await fetch(`${srv.url}/sse`, { method: "POST" })).status).toBe(405);
  });

  test("a disallowed Origin is refused with 403; an allowed one gets CORS headers", async () => {
    const res = await fetch(`${srv.url}/sse?room=time`, { headers: { Origin: "http://evil.example" } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe("origin_not_allowed");
    const refused = openEventSource(`${srv.url}/sse?room=time`, [], { Origin: "http://evil.example" });
    await expect(refused.opened).rejects.toMatchObject({ code: 403 });

    const allowed = openEventSource(`${srv.url}/sse?room=cors`, ["x"], { Origin: "http://localhost:7788" });
    await allowed.opened;
    await emit(srv.url, { event: "x", room: "cors", data: 1 });
    expect(await allowed.next()).toEqual({ type: "x", data: "1" });
    allowed.close();
    const { res: cors } = await readRawUntil(`${srv.url}/sse?room=cors`, (t) => t.includes("retry:"), { Origin: "http://localhost:7788" });
    expect(cors.headers.get("access-control-allow-origin")).toBe("http://localhost:7788");
    const { res: raw } = await readRawUntil(`${srv.url}/sse?room=cors`, (t) => t.includes("retry:"));
    expect(raw.headers.get("access-control-allow-origin")).toBeNull(); // no Origin, no CORS header
  });

  test("headers, retry hint, and heartbeat comments on the raw stream", async () => {
    const { res, text } = await readRawUntil(`${srv.url}/sse?room=hb`, (t) => t.includes(": ping\n\n"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    expect(text.startsWith("retry: 3000\n")).toBe(true);
  });

  test("closing a client releases its room and its connection slot", async () => {
    const c = openEventSource(`${srv.url}/sse?room=leaving`);
    await c.opened;
    expect((await stats()).top_rooms.leaving).toBe(1);
    expect(await metric('ws_emit_connections{transport="sse"}')).toBeGreaterThanOrEqual(1);
    c.close();
    await until(async () => (await stats()).top_rooms.leaving === undefined, "room 'leaving' to be released");
    expect((await emit(srv.url, { event: "x", room: "leaving" })).body.delivered).toBe(0);
  });

  test("a reader that stops reading is cut off and counted; a normal EventSource keeps receiving", async () => {
    const good = openEventSource(`${srv.url}/sse?room=flood`, ["big"]);
    await good.opened;
    const slow = await stalledReader(srv.url, "/sse?room=flood");
    let slowGone = false;
    slow.closed.then(() => (slowGone = true));
    const before = await metric('ws_emit_drops_total{reason="slow_sse"}');
    const payload = "z".repeat(60_000);
    const N = 300;
    let delivered = 0;
    for (let i = 0; i < N; i++) {
      const r = await emit(srv.url, { event: "big", room: "flood", data: { i, payload } });
      delivered += r.body.delivered;
      expect(JSON.parse((await good.next()).data).i).toBe(i);
    }
    await slow.closed;
    expect(slowGone).toBe(true);
    expect(delivered).toBeLessThan(2 * N);
    expect(await metric('ws_emit_drops_total{reason="slow_sse"}')).toBe(before + 1);
    expect((await stats()).top_rooms.flood).toBe(1);
    good.close();
    slow.end();
  });

  test("a reader that takes nothing for two heartbeats is cut off even below the buffer cap", async () => {
    await using s = await startWsEmit(["--heartbeat", "200ms", "--max-buffer", "64m"]);
    const slow = await stalledReader(s.url, "/sse?room=stall");
    const payload = "z".repeat(60_000);
    // ~12 MB: more than the kernel buffers take, far less than the 64 MiB cap.
    for (let i = 0; i < 200; i++) expect((await emit(s.url, { event: "big", room: "stall", data: { i, payload } })).status).toBe(200);
    await slow.closed;
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toContain('ws_emit_drops_total{reason="slow_sse"} 1');
    slow.end();
  });
});

describe("SSE connection limits and drain", () => {
  // Bun.serve closes an HTTP connection idle for 10 s unless told otherwise per request; with a
  // heartbeat longer than that every stream would break and reconnect every 10 s.
  test("a quiet stream outlives Bun's 10 s idle timeout", async () => {
    await using s = await startWsEmit(["--heartbeat", "60s"]);
    const c = openEventSource(`${s.url}/sse?room=quiet`, ["late"]);
    await c.opened;
    // Nothing to await: the point is that nothing happens. Bun cuts idle ones after 10-12 s.
    await Bun.sleep(13_000);
    expect((await emit(s.url, { event: "late", room: "quiet", data: 1 })).body.delivered).toBe(1);
    expect(await c.next()).toEqual({ type: "late", data: "1" });
    expect(c.errors()).toBe(0);
    c.close();
  }, 25_000);

  test("streams count toward --max-connections; SIGTERM ends them with a comment", async () => {
    await using s = await startWsEmit(["--max-connections", "2", "--drain", "1s"]);
    const a = openEventSource(`${s.url}/sse?room=a`);
    const b = openEventSource(`${s.url}/sse?room=a`);
    await Promise.all([a.opened, b.opened]);
    const res = await fetch(`${s.url}/sse?room=a`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe("too_many_connections");
    a.close();
    b.close();
    await until(async () => (await fetch(`${s.url}/stats`).then((r) => r.json() as Promise<{ connections: number }>)).connections === 0, "both streams to be released");
    const reading = readRawUntil(`${s.url}/sse?room=a`, (t) => t.includes(": draining\n\n"));
    await until(async () => (await fetch(`${s.url}/stats`).then((r) => r.json() as Promise<{ connections: number }>)).connections === 1, "the raw stream to open");
    s.proc.kill("SIGTERM");
    expect((await reading).text).toContain(": draining\n\n");
    expect(await s.proc.exited).toBe(0);
  });
});

describe("wspush clients over SSE (/wspush/sse?token=…)", () => {
  test("a token's messages arrive verbatim as `message` events, one data line per line; the per-token slot is freed on close", async () => {
    await using s = await startWsEmit(["--wspush-max-per-token", "1"]);
    const a = openEventSource(`${s.url}/wspush/sse?token=Foo`);
    await a.opened;
    // The per-token cap counts SSE streams too.
    expect((await fetch(`${s.url}/wspush/sse?token=Foo`)).status).toBe(429);
    expect((await emit(s.url, { event: "message", room: "wspush::Foo", data: "job done" })).body.delivered).toBe(1);
    expect(await a.next()).toEqual({ type: "message", data: "job done" });
    await emit(s.url, { event: "message", room: "wspush::Foo", data: "line 1\nline 2" });
    expect(await a.next()).toEqual({ type: "message", data: "line 1\nline 2" });
    // Broadcasts and other tokens are not for wspush clients.
    await emit(s.url, { event: "x", data: "everyone" });
    await emit(s.url, { event: "message", room: "wspush::Bar", data: "not yours" });
    await emit(s.url, { event: "message", room: "wspush::Foo", data: "last" });
    expect(await a.next()).toEqual({ type: "message", data: "last" });
    a.close();
    await until(async () => (await fetch(`${s.url}/stats`).then((r) => r.json() as Promise<{ connections: number }>)).connections === 0, "the stream to be released");
    const b = openEventSource(`${s.url}/wspush/sse?token=Foo`);
    await b.opened;
    b.close();
  });
});

describe("resume with Last-Event-ID (--sse-history, now an alias of --history)", () => {
  test("a reconnecting EventSource gets what its room missed, then live events; an unknown id is a gap", async () => {
    await using s = await startWsEmit(["--sse-history", "100"]);
    const a = openEventSource(`${s.url}/sse?room=r1`, ["e"]);
    await a.opened;
    await emit(s.url, { event: "e", room: "r1", data: 1 });
    await emit(s.url, { event: "e", room: "r1", data: 2 });
    const first = [await a.next(), await a.next()];
    expect(first.map((e) => e.data)).toEqual(["1", "2"]);
    const [epoch, n1] = first[0]!.id!.split("-");
    expect(first[1]!.id).toBe(`${epoch}-${Number(n1) + 1}`);
    a.close();

    // Missed while away: one for r1, one for another room, one broadcast (broadcasts are not kept).
    await emit(s.url, { event: "e", room: "r1", data: 4 });
    await emit(s.url, { event: "e", room: "other", data: 5 });
    await emit(s.url, { event: "e", data: 6 });
    // What EventSource sends by itself when it reconnects.
    const b = openEventSource(`${s.url}/sse?room=r1`, ["e", "gap"], { "Last-Event-ID": first[1]!.id! });
    await b.opened;
    expect((await b.next()).data).toBe("4");
    await emit(s.url, { event: "e", room: "r1", data: 7 });
    expect((await b.next()).data).toBe("7");
    expect(b.received.map((e) => e.type)).toEqual(["e", "e"]);
    b.close();

    // An id from before a restart (or of the old SSE history) cannot be proven: the stream says so, then goes on live.
    const c = openEventSource(`${s.url}/sse?room=r1`, ["e", "gap"], { "Last-Event-ID": "0000beef-1" });
    await c.opened;
    expect(await c.next()).toMatchObject({ type: "gap", data: '["r1"]' });
    await emit(s.url, { event: "e", room: "r1", data: 8 });
    expect((await c.next()).data).toBe("8");
    expect(c.received.length).toBe(2);
    c.close();
  });
});
