import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--secret", "123", "--wsify-key", "K", "--roomspace-secret", "dir=S"]);
});
afterAll(() => srv.stop());

const broadcast = (body: unknown, key = "K", contentType = "application/json") =>
  fetch(`${srv.url}/broadcast?key=${key}`, { method: "POST", headers: { "Content-Type": contentType }, body: JSON.stringify(body) });

describe("wsify clients and backends", () => {
  test("join over /ws, POST /broadcast delivers the bare content; leave stops it", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    const texts: string[] = [];
    c.ws.addEventListener("message", (e) => texts.push(e.data as string));
    c.send({ command: "join", args: { channel: "hello" } });
    // No reply to a join (as wsify). An unknown command answers an error: once it is back,
    // the join before it has been processed.
    c.send({ command: "sync", args: {} });
    expect(await c.next()).toMatchObject({ code: "bad_request", message: expect.stringContaining('unknown command "sync"') });
    const r = await broadcast({ channel: "hello", content: { msg: "Hello World!" } });
    expect(r.status).toBe(201);
    expect(await r.text()).toBe("");
    expect(await c.next()).toEqual({ msg: "Hello World!" });
    await broadcast({ channel: "hello", content: "plain" });
    expect(await c.next()).toBe("plain");
    // wsify sends content as its JSON text: a string arrives quoted.
    expect(texts.slice(1)).toEqual(['{"msg":"Hello World!"}', '"plain"']);
    c.send({ command: "leave", args: { channel: "hello" } });
    c.send({ command: "join", args: { channels: ["other"] } });
    c.send({ command: "sync", args: { channel: "hello" } });
    expect((await c.next()).code).toBe("bad_request");
    await broadcast({ channel: "hello", content: 1 });
    await broadcast({ channel: "other", content: 2 });
    expect(await c.next((m) => m === 1 || m === 2)).toBe(2);
    c.close();
  });

  test("/broadcast errors: 403 wrong key, 400 bad JSON, 415 not JSON; charset accepted", async () => {
    expect((await broadcast({ channel: "x", content: 1 }, "nope")).status).toBe(403);
    const bad = await fetch(`${srv.url}/broadcast?key=K`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" });
    expect(bad.status).toBe(400);
    expect((await broadcast({ channel: "x", content: 1 }, "K", "text/plain")).status).toBe(415);
    expect((await broadcast({ channel: "x", content: 1 }, "K", "application/json; charset=utf-8")).status).toBe(201);
  });

  test("an emit through /emit reaches wsify subscribers too", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ command: "join", args: { channel: "dir::f", secret: "S" } });
    // The failed join's error doubles as a barrier: the first join is in place when it arrives.
    c.send({ command: "join", args: { channel: "dir::g", secret: "wrong" } });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", room: "dir::g" });
    expect((await emit(srv.url, { event: "changed", room: "dir::f", data: { size: 3 }, secret: "123" })).body.delivered).toBe(1);
    expect(await c.next()).toEqual({ size: 3 });
    c.send({ command: "broadcast", args: { channel: "dir::f", content: "from a browser" } });
    expect((await c.next()).message).toContain("--authorizer-url");
    c.close();
  });
});

describe("wsify heartbeat (the fork's {\"type\":\"ping\"} text frame)", () => {
  test("wsify connections get {\"type\":\"ping\"} every --wsify-ping; a pong reply is taken silently; native ones do not", async () => {
    await using s = await startWsEmit(["--wsify-ping", "200ms"]);
    const w = await openWs(`${s.wsUrl}/ws`);
    w.send({ command: "join", args: { channel: "hello" } });
    const n = await openWs(`${s.wsUrl}/ws?room=hello`);
    expect(await n.next()).toEqual({ type: "joined", room: "hello" });
    expect(await w.next()).toEqual({ type: "ping" });
    w.send({ type: "pong" });
    expect(await w.next()).toEqual({ type: "ping" });
    await emit(s.url, { event: "x", room: "hello", data: "content" });
    expect(await w.next((m) => m !== null && typeof m !== "object")).toBe("content");
    expect(w.received.filter((m) => m?.type === "error")).toEqual([]);
    expect(await n.next()).toMatchObject({ type: "event", data: "content" });
    expect(n.received.filter((m) => m?.type === "ping")).toEqual([]);
    w.close();
    n.close();
  });
});

describe("wsify authorizer webhook", () => {
  test("connect and commands are asked; 200 allows, 401 denies, 5xx refuses as down", async () => {
    const seen: any[] = [];
    // The verdict depends only on the request, so the test has no timing to depend on.
    using auth = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const body = (await req.json()) as any;
        seen.push(body);
        if (body.command === "connect") return new Response("", { status: body.args.query.user?.[0] === "bob" ? 502 : 200 });
        const channel = body.args.channel;
        if (channel === "room2") return new Response("", { status: 401 });
        if (channel === "room3") return new Response("", { status: 503 });
        return new Response("ok");
      },
    });
    await using s = await startWsEmit(["--authorizer-url", `http://127.0.0.1:${auth.port}/auth`, "--authorizer-cache", "0s"]);
    const c = await openWs(`${s.wsUrl}/ws?user=alice`, { headers: { "X-User": "alice" } });
    expect(seen[0]).toMatchObject({ command: "connect", args: { query: { user: ["alice"] }, headers: { "X-User": ["alice"] } } });
    c.send({ command: "join", args: { channel: "room1" } });
    c.send({ command: "join", args: { channel: "room2" } });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", message: "the authorizer refused join" });
    // Authorized by the webhook, a client may broadcast; it reaches room1, where it is itself.
    c.send({ command: "broadcast", args: { channel: "room1", content: { hi: 1 } } });
    expect(await c.next()).toEqual({ hi: 1 });
    c.send({ command: "join", args: { channel: "room3" } });
    expect(await c.closed).toEqual({ code: 1013, reason: "authorizer unavailable; reconnect later" });
    const refused = await fetch(`${s.url}/ws?user=bob`, { headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as any).error).toBe("authorizer_unavailable");
    expect(seen.map((b) => b.command)).toEqual(["connect", "join", "join", "broadcast", "join", "connect"]);
  });
});

describe("webdis clients (the blog post's recipe)", () => {
  test("SUBSCRIBE with a number, message frames, PING, UNSUBSCRIBE, other commands refused", async () => {
    const c = await openWs(`${srv.wsUrl}/.json`);
    c.send(["SUBSCRIBE", 666]);
    expect(await c.next()).toEqual({ SUBSCRIBE: ["subscribe", "666", 1] });
    const r = await fetch(`${srv.url}/PUBLISH/666/You%20have%20started%20a%20server%20side%20function`, { headers: { Authorization: "Bearer 123" } });
    expect(await r.json()).toEqual({ PUBLISH: 1 });
    expect(await c.next()).toEqual({ SUBSCRIBE: ["message", "666", "You have started a server side function"] });
    await emit(srv.url, { event: "progress", room: "666", data: { pct: 50 }, secret: "123" });
    expect(await c.next()).toEqual({ SUBSCRIBE: ["message", "666", '{"pct":50}'] });
    c.send(["PING"]);
    expect(await c.next()).toEqual({ PING: [true, "PONG"] });
    c.send(["GET", "key"]);
    expect((await c.next()).GET[0]).toBe(false);
    c.send(["UNSUBSCRIBE", "666"]);
    expect(await c.next()).toEqual({ UNSUBSCRIBE: ["unsubscribe", "666", 0] });
    c.send("this is not json");
    expect((await c.closed).code).toBe(1007);
  });

  test("UNSUBSCRIBE with no channel leaves them all, and answers as Redis does when there are none", async () => {
    const c = await openWs(`${srv.wsUrl}/.json`);
    c.send(["SUBSCRIBE", "a", "b"]);
    expect(await c.next()).toEqual({ SUBSCRIBE: ["subscribe", "a", 1] });
    expect(await c.next()).toEqual({ SUBSCRIBE: ["subscribe", "b", 2] });
    c.send(["UNSUBSCRIBE"]);
    expect(await c.next()).toEqual({ UNSUBSCRIBE: ["unsubscribe", "a", 1] });
    expect(await c.next()).toEqual({ UNSUBSCRIBE: ["unsubscribe", "b", 0] });
    c.send(["UNSUBSCRIBE"]);
    expect(await c.next()).toEqual({ UNSUBSCRIBE: ["unsubscribe", null, 0] });
    c.close();
  });

  test("private channels need ?secret=; /PUBLISH needs the emit secret", async () => {
    const c = await openWs(`${srv.wsUrl}/.json?secret=S`);
    c.send(["SUBSCRIBE", "dir::x"]);
    expect(await c.next()).toEqual({ SUBSCRIBE: ["subscribe", "dir::x", 1] });
    const d = await openWs(`${srv.wsUrl}/.json`);
    d.send(["SUBSCRIBE", "dir::x"]);
    expect((await d.next()).SUBSCRIBE[0]).toBe(false);
    expect((await fetch(`${srv.url}/PUBLISH/dir::x/hi`)).status).toBe(403);
    c.close();
    d.close();
  });
});
