import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { signWspushToken } from "../../src/protocols/compat/wspush/codec.ts";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs, upgradeStatus } from "../helpers/ws.ts";

const KEY = Buffer.from("wspush test key 0123456789").toString("base64url");

let open: Started;
let signed: Started;
beforeAll(async () => {
  open = await startWsEmit(["--wspush-max-per-token", "2"]);
  signed = await startWsEmit([], { env: { WSPUSH_KEY: KEY } });
});
afterAll(async () => {
  await open.stop();
  await signed.stop();
});

describe("wspush clients", () => {
  test("?token=Foo receives what is emitted to wspush::Foo, verbatim as text", async () => {
    const c = await openWs(`${open.wsUrl}/wspush?token=Foo`);
    const texts: string[] = [];
    c.ws.addEventListener("message", (e) => texts.push(e.data as string));
    expect((await emit(open.url, { event: "message", room: "wspush::Foo", data: "line one" })).body.delivered).toBe(1);
    expect(await c.next()).toBe("line one");
    await emit(open.url, { event: "message", room: "wspush::Foo", data: { n: 1 } });
    expect(await c.next()).toEqual({ n: 1 });
    expect(texts).toEqual(["line one", '{"n":1}']);
    c.close();
  });

  test("errors: no token 400, too long 400, POST 405, per-token cap 429; /ping 200", async () => {
    expect((await upgradeStatus(`${open.url}/wspush`)).status).toBe(400);
    expect((await upgradeStatus(`${open.url}/wspush?token=${"x".repeat(65)}`)).body.error).toBe("bad_token");
    expect((await fetch(`${open.url}/wspush?token=a`, { method: "POST" })).status).toBe(405);
    const ping = await fetch(`${open.url}/ping`);
    expect([ping.status, await ping.text()]).toEqual([200, ""]);
    // As wspush: anything but GET is 405, /ping included.
    const postPing = await fetch(`${open.url}/ping`, { method: "POST" });
    expect([postPing.status, postPing.headers.get("allow")]).toEqual([405, "GET"]);
    const a = await openWs(`${open.wsUrl}/wspush?token=capped`);
    const b = await openWs(`${open.wsUrl}/wspush?token=capped`);
    const third = await upgradeStatus(`${open.url}/wspush?token=capped`);
    expect(third.status).toBe(429);
    a.close();
    await a.closed;
    // The slot is free again once a connection ends.
    const c = await openWs(`${open.wsUrl}/wspush?token=capped`);
    b.close();
    c.close();
  });

  test("with a key, only HMAC-MD5 signed tokens are accepted; routing uses the whole token", async () => {
    const key = Buffer.from(KEY, "base64url");
    const token = signWspushToken("user-42", key);
    const c = await openWs(`${signed.wsUrl}/wspush?token=${token}`);
    await emit(signed.url, { event: "message", room: `wspush::${token}`, data: "for 42" });
    expect(await c.next()).toBe("for 42");
    const forged = signWspushToken("user-42", Buffer.from("another key"));
    expect((await upgradeStatus(`${signed.url}/wspush?token=${forged}`)).body.message).toContain("signature");
    expect((await upgradeStatus(`${signed.url}/wspush?token=user-42`)).status).toBe(400);
    c.close();
  });
});

// wspush served every path (only ?token= and a path ending in /sse mattered), so its clients
// connect to "/?token=Foo", "/sse?token=Foo" or their own path. Paths ws-emit does not claim
// for itself behave as wspush when they carry ?token=.
/** Read a stream until `needle` appears; fails after `ms` instead of hanging. */
async function readUntil(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, needle: string, ms = 5000): Promise<string> {
  let text = "";
  const deadline = Date.now() + ms;
  while (!text.includes(needle)) {
    const left = deadline - Date.now();
    const timeout = new Promise<null>((res) => setTimeout(() => res(null), Math.max(0, left)));
    const r = await Promise.race([reader.read(), timeout]);
    if (r === null || r.done) throw new Error(`no ${JSON.stringify(needle)} within ${ms} ms; got ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(r.value);
  }
  return text;
}

describe("wspush clients on wspush's own paths", () => {
  test("WebSocket at /?token=Foo and at an unclaimed path", async () => {
    for (const path of ["/?token=Foo", "/push?token=Foo"]) {
      const c = await openWs(`${open.wsUrl}${path}`);
      expect((await emit(open.url, { event: "message", room: "wspush::Foo", data: "hello" })).body.delivered).toBe(1);
      expect(await c.next()).toBe("hello");
      c.close();
      await c.closed;
    }
    expect((await fetch(`${open.url}/push?token=a`, { method: "POST" })).status).toBe(405);
    // Without a token an unclaimed path stays a 404, and / stays the built-in page.
    expect((await fetch(`${open.url}/push`)).status).toBe(404);
    expect((await fetch(`${open.url}/?token=Foo`)).headers.get("content-type")).toContain("text/html");
    // A WebSocket to / without a token (a common slip for /ws) is told where to go.
    const slip = await upgradeStatus(`${open.url}/`);
    expect(slip.status).toBe(400);
    expect(slip.body.message).toContain("/ws");
  });

  test("SSE at /sse?token=Foo (no room), /events/sse?token=Foo and Accept: text/event-stream on /", async () => {
    for (const [path, headers] of [
      ["/sse?token=Foo", {}],
      ["/events/sse?token=Foo", {}],
      ["/?token=Foo", { Accept: "text/event-stream" }],
    ] as Array<[string, Record<string, string>]>) {
      const ctl = new AbortController();
      const res = await fetch(`${open.url}${path}`, { headers, signal: ctl.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const reader = res.body!.getReader();
      await readUntil(reader, "retry:"); // the stream's opening lines: now subscribed
      await emit(open.url, { event: "message", room: "wspush::Foo", data: "a\nb" });
      expect(await readUntil(reader, "data:b\n\n")).toContain("data:a\ndata:b\n\n");
      ctl.abort();
    }
  });

  test("ws-emit's own /sse keeps its meaning: a room, or a signed token (it has a dot), is not wspush", async () => {
    const ctl = new AbortController();
    const res = await fetch(`${open.url}/sse?room=time&token=Foo`, { signal: ctl.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await readUntil(reader, "retry:");
    await emit(open.url, { event: "update", room: "time", data: { time: 1 } });
    expect(await readUntil(reader, '{"time":1}\n\n')).toContain('event: update\ndata: {"time":1}');
    ctl.abort();
  });
});
