import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--secret", "123", "--max-body", "2k"]);
});
afterAll(() => srv.stop());

const post = (body: string, headers: Record<string, string> = { "Content-Type": "application/json" }) =>
  fetch(`${srv.url}/emit`, { method: "POST", headers, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any, headers: r.headers }));

describe("POST /emit status codes", () => {
  test("200 with delivered count", async () => {
    const r = await emit(srv.url, { event: "update", room: "nobody-here", data: 1, secret: "123" });
    expect(r).toEqual({ status: 200, body: { ok: true, delivered: 0, rooms: ["nobody-here"] } });
  });
  test("403 missing and wrong secret; Bearer works", async () => {
    expect((await emit(srv.url, { event: "x" })).body).toMatchObject({ error: "forbidden" });
    expect((await emit(srv.url, { event: "x", secret: "124" })).status).toBe(403);
    expect((await emit(srv.url, { event: "x" }, { Authorization: "Bearer 12" })).status).toBe(403);
    expect((await emit(srv.url, { event: "x" }, { Authorization: "Bearer 123" })).status).toBe(200);
  });
  test("400 malformed JSON, non-object, missing event, bad room", async () => {
    for (const [body, code] of [
      ["{", "invalid_json"],
      ["42", "bad_request"],
      ['"str"', "bad_request"],
      ['{"room":"time","secret":"123"}', "bad_request"],
      ['{"event":"x","room":"has space","secret":"123"}', "bad_request"],
      ['{"event":"x","rooms":[],"secret":"123"}', "bad_request"],
    ] as const) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe(code);
      expect(typeof r.body.message).toBe("string");
    }
  });
  test("a body that is not UTF-8 is 400, not decoded with replacement characters", async () => {
    const bytes = Buffer.concat([Buffer.from('{"event":"x'), Buffer.from([0xff]), Buffer.from('","secret":"123"}')]);
    const r = await fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: bytes });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: "bad_request", message: "body is not valid UTF-8" });
  });
  test("a malformed emit without the secret is 403, not a validation hint", async () => {
    expect((await post('{"room":"time"}')).status).toBe(403);
  });
  test("405 for GET with Allow header", async () => {
    const r = await fetch(`${srv.url}/emit`);
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("POST");
    expect(((await r.json()) as any).error).toBe("method_not_allowed");
  });
  test("413 over --max-body, declared or chunked", async () => {
    const big = JSON.stringify({ event: "x", data: "y".repeat(4000), secret: "123" });
    expect((await post(big)).status).toBe(413);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const r = await fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: stream });
    expect(r.status).toBe(413);
  });
  test("413 is JSON however large the body (far past --max-body), declared or chunked", async () => {
    const huge = "x".repeat(3 * 1024 * 1024);
    const declared = await fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: huge });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: "payload_too_large" });
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 3; i++) c.enqueue(new TextEncoder().encode(huge.slice(0, 1024 * 1024)));
        c.close();
      },
    });
    const chunked = await fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: stream });
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toMatchObject({ error: "payload_too_large" });
  });
  test("415 unless JSON; charset parameter is fine", async () => {
    const r = await post('{"event":"x","secret":"123"}', { "Content-Type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(415);
    expect(r.body.error).toBe("unsupported_media_type");
    expect((await post('{"event":"x","secret":"123"}', { "Content-Type": "application/json; charset=utf-8" })).status).toBe(200);
  });
  test("404 JSON for unknown paths", async () => {
    const r = await fetch(`${srv.url}/nope`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error).toBe("not_found");
  });
});

describe("delivery shapes", () => {
  test("no room reaches every client; no data = no argument", async () => {
    const a = await openWs(`${srv.wsUrl}/ws`);
    const b = await openWs(`${srv.wsUrl}/ws?room=time`);
    await b.next((m) => m.type === "joined");
    const r = await emit(srv.url, { event: "hello", secret: "123" });
    expect(r.body.delivered).toBe(2);
    expect(await a.next()).toEqual({ type: "event", event: "hello" });
    expect(await b.next((m) => m.type === "event")).toEqual({ type: "event", event: "hello" });
    a.close();
    b.close();
  });

  test("rooms: [...] and batch arrays", async () => {
    const a = await openWs(`${srv.wsUrl}/ws?room=r1`);
    const b = await openWs(`${srv.wsUrl}/ws?room=r2`);
    await Promise.all([a.next(), b.next()]);
    const multi = await emit(srv.url, { event: "m", rooms: ["r1", "r2"], data: 1, secret: "123" });
    expect(multi.body.delivered).toBe(2);
    expect(await a.next()).toEqual({ type: "event", room: "r1", event: "m", data: 1 });
    expect(await b.next()).toEqual({ type: "event", room: "r2", event: "m", data: 1 });

    const batch = await emit(srv.url, [
      { event: "b1", room: "r1", data: "x" },
      { event: "b2", room: "r2", args: ["y", 2] },
    ], { Authorization: "Bearer 123" });
    expect(batch.status).toBe(200);
    expect(batch.body).toMatchObject({ ok: true, emitted: 2, delivered: 2 });
    expect(await a.next()).toEqual({ type: "event", room: "r1", event: "b1", data: "x" });
    expect(await b.next()).toEqual({ type: "event", room: "r2", event: "b2", args: ["y", 2] });

    // One bad item rejects the whole batch: nothing is emitted.
    const bad = await emit(srv.url, [{ event: "ok", room: "r1" }, { room: "r1" }], { Authorization: "Bearer 123" });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("item 1");
    a.send({ type: "ping", id: "after" });
    expect(await a.next()).toEqual({ type: "pong", id: "after" });
    a.close();
    b.close();
  });
});

describe("roomspace secrets over HTTP", () => {
  test("PUT needs the emit secret; then joins use it; DELETE locks the roomspace", async () => {
    const put = (body: unknown, auth?: string) =>
      fetch(`${srv.url}/roomspaces/docs/secret`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", ...(auth ? { Authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify(body),
      });
    expect((await put({ secret: "s1" })).status).toBe(403);
    expect((await put({ secret: "" }, "123")).status).toBe(400);
    expect((await put({ secret: "s1" }, "123")).status).toBe(200);
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ type: "join", room: "docs::readme", secret: "s1" });
    expect(await c.next()).toEqual({ type: "joined", room: "docs::readme" });
    const del = await fetch(`${srv.url}/roomspaces/docs/secret`, { method: "DELETE", headers: { Authorization: "Bearer 123" } });
    expect(del.status).toBe(200);
    c.send({ type: "join", room: "docs::other", secret: "s1" });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden" });
    c.close();
  });

  test("a roomspace whose secret comes from --roomspace-secret is not changed over HTTP (409)", async () => {
    await using s = await startWsEmit(["--secret", "123", "--roomspace-secret", "dir=S3cret"]);
    const headers = { "Content-Type": "application/json", Authorization: "Bearer 123" };
    const put = await fetch(`${s.url}/roomspaces/dir/secret`, { method: "PUT", headers, body: '{"secret":"other"}' });
    expect([put.status, ((await put.json()) as any).error]).toEqual([409, "conflict"]);
    expect((await fetch(`${s.url}/roomspaces/dir/secret`, { method: "DELETE", headers })).status).toBe(409);
    // Without the emit secret it is still a 403 first.
    expect((await fetch(`${s.url}/roomspaces/dir/secret`, { method: "DELETE" })).status).toBe(403);
    const c = await openWs(`${s.wsUrl}/ws`);
    c.send({ type: "join", room: "dir::a", secret: "S3cret" });
    expect(await c.next()).toEqual({ type: "joined", room: "dir::a" });
    c.close();
  });
});

// With no --secret, "only clients on this machine may emit". A reverse proxy on this machine
// (the README's nginx/Caddy setup) makes every request come from loopback, and a DNS-rebinding
// page makes the victim's own browser a loopback client: neither may emit.
describe("no --secret: emits from this machine only, also behind a local proxy or a rebinding browser page", () => {
  let open: Started;
  beforeAll(async () => {
    open = await startWsEmit([]);
  });
  afterAll(() => open.stop());
  const tryEmit = (headers: Record<string, string>) =>
    fetch(`${open.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: '{"event":"x"}' }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  test("a proxy forwarding for a remote client is refused; for a local one it is fine", async () => {
    for (const h of <Array<Record<string, string>>>[{ "X-Forwarded-For": "203.0.113.5" }, { "X-Forwarded-For": "127.0.0.1, 203.0.113.5" }, { Forwarded: "for=203.0.113.5;proto=https" }, { "X-Real-IP": "2001:db8::1" }]) {
      const r = await tryEmit(h);
      expect({ h, status: r.status }).toEqual({ h, status: 403 });
      expect(r.body.error).toBe("forbidden");
    }
    for (const h of <Array<Record<string, string>>>[{}, { "X-Forwarded-For": "127.0.0.1" }, { Forwarded: 'for="[::1]:5555"' }]) expect((await tryEmit(h)).status).toBe(200);
  });

  test("a browser page of another site reaching us by DNS rebinding is refused; a local page is fine", async () => {
    const port = new URL(open.url).port;
    const rebound = await tryEmit({ Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` });
    expect(rebound.status).toBe(403);
    // Another local origin (even one in --cors) is a browser page, not a program: it needs the secret.
    expect((await tryEmit({ Origin: "http://localhost:7788" })).status).toBe(403);
    expect((await tryEmit({ Origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });
});
