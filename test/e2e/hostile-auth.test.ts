/**
 * Requests that must not get in (issue 11), through the real server process: cross-site and
 * rebinding requests on every endpoint that changes state without a secret, forged forwarded
 * headers, and roomspace-secret guessing limited per address and per roomspace over every
 * transport (native, SSE, Socket.IO, wsify, webdis).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ROOT, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";
import { connectSio, emitAck } from "../helpers/sio.ts";

type Hdrs = Record<string, string>;

describe("no secret: only programs on this machine change state", () => {
  let srv: Started;
  let port: string;
  beforeAll(async () => {
    srv = await startWsEmit([]);
    port = new URL(srv.url).port;
  });
  afterAll(() => srv.stop());

  /** Every state-changing endpoint that the loopback exemption opens, as one request each. */
  const endpoints = (h: Hdrs): Array<[string, () => Promise<Response>]> => [
    ["POST /emit", () => fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json", ...h }, body: '{"event":"x","room":"roomspace::r"}' })],
    ["GET /PUBLISH", () => fetch(`${srv.url}/PUBLISH/roomspace::r/hi`, { headers: h })],
    ["POST /PUBLISH", () => fetch(`${srv.url}/PUBLISH/roomspace::r`, { method: "POST", headers: h, body: "hi" })],
    ["POST /broadcast", () => fetch(`${srv.url}/broadcast`, { method: "POST", headers: { "Content-Type": "application/json", ...h }, body: '{"channel":"c","content":1}' })],
    ["PUT /roomspaces/x/secret", () => fetch(`${srv.url}/roomspaces/x/secret`, { method: "PUT", headers: { "Content-Type": "application/json", ...h }, body: '{"secret":"s"}' })],
    ["DELETE /roomspaces/x/secret", () => fetch(`${srv.url}/roomspaces/x/secret`, { method: "DELETE", headers: h })],
  ];

  test("a local program (no browser headers) may", async () => {
    for (const [name, send] of endpoints({})) {
      const r = await send();
      expect({ name, status: r.status }).toEqual({ name, status: name === "POST /broadcast" ? 201 : 200 });
    }
  });

  test("a page of another site may not: <img>, fetch, forms, rebinding, forged forwarding", async () => {
    const hostile: Hdrs[] = [
      { "Sec-Fetch-Site": "cross-site" }, // <img src="http://127.0.0.1:8899/PUBLISH/..."> sends no Origin
      { "Sec-Fetch-Site": "same-site", Origin: "http://localhost:7788" },
      { Origin: "http://localhost:7788" }, // another local origin (even the default --cors one)
      { Referer: "https://evil.example/page" },
      { Host: `evil.example:${port}` }, // DNS rebinding: a same-origin request of evil.example's page
      { Host: `127.0.0.1.evil.example:${port}` },
      { "X-Forwarded-For": "127.0.0.1", "X-Real-IP": "203.0.113.5" },
      { "X-Forwarded-For": "127.0.0.1", Forwarded: "for=198.51.100.7" },
      { "X-Forwarded-For": "127.evil.example" },
    ];
    for (const h of hostile) {
      for (const [name, send] of endpoints(h)) {
        const r = await send();
        const body = (await r.json()) as { error: string; message: string };
        expect({ name, h, status: r.status, error: body.error }).toEqual({ name, h, status: 403, error: "forbidden" });
        expect(body.message).toContain("refused because");
      }
    }
  });

  test("the server's own page (same origin) may", async () => {
    const h = { Origin: `http://127.0.0.1:${port}`, "Sec-Fetch-Site": "same-origin", Referer: `http://127.0.0.1:${port}/` };
    for (const [name, send] of endpoints(h)) expect({ name, status: (await send()).status }).toEqual({ name, status: name === "POST /broadcast" ? 201 : 200 });
  });
});

describe("failed joins are limited per address and per roomspace, over every transport", () => {
  let srv: Started;
  let wsUrl: string;
  beforeAll(async () => {
    srv = await startWsEmit([
      "--roomspace-secret", "vault=right", "--roomspace-secret", "other=right2",
      "--max-join-failures-per-address", "3", "--max-join-failures-per-roomspace", "12",
      // High per-connection limit: the limits under test are the cross-connection ones.
      "--max-join-failures", "1000", "--trust-proxy", "loopback",
    ]);
    wsUrl = srv.url.replace("http", "ws");
  });
  afterAll(() => srv.stop());
  const from = (ip: string) => ({ "X-Forwarded-For": ip });
  const sse = (q: string, h: Hdrs) => fetch(`${srv.url}/sse?${q}`, { headers: h }).then(async (r) => ({ status: r.status, retry: r.headers.get("retry-after"), body: (await r.json()) as any }));

  test("per address: new connections and other transports do not get more guesses", async () => {
    const a = from("203.0.113.10");
    for (let i = 0; i < 3; i++) expect((await sse("room=vault::x&secret=guess" + i, a)).status).toBe(403);
    const limited = await sse("room=vault::x&secret=guess3", a);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe("rate_limited");
    expect(limited.body.message).toMatch(/from your address; retry in \d+ s/);
    expect(Number(limited.retry)).toBeGreaterThan(0);
    // Even the right secret is not checked now (that would make the limit an oracle).
    expect((await sse("room=vault::x&secret=right", a)).status).toBe(429);
    // Another transport from the same address, and another roomspace: refused before the upgrade.
    const up = await fetch(`${srv.url}/ws?room=other::y&secret=nope`, { headers: { ...a, Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" } });
    expect(up.status).toBe(429);
    // Socket.IO from that address: the join is refused with rate_limited.
    const s = await connectSio(srv.url, { transports: ["websocket"], extraHeaders: a });
    try {
      const ack = await emitAck(s, "join", { room: "vault::x", secret: "right" });
      expect(ack).toMatchObject({ ok: false, error: "rate_limited" });
    } finally {
      s.disconnect();
    }
    // Public rooms stay open to it, and another address still gets its guesses.
    const pub = await fetch(`${srv.url}/sse?room=public`, { headers: a });
    expect(pub.status).toBe(200);
    await pub.body?.cancel();
    expect((await sse("room=vault::x&secret=guess", from("203.0.113.11"))).status).toBe(403);
  });

  test("per roomspace: guesses from many addresses (and loopback) stop at the roomspace limit", async () => {
    // No guess for "other" was checked yet (the /ws above was limited, not checked): send guesses
    // over native, wsify and webdis frames from loopback (exempt from the per-address limit)
    // until the roomspace limit is reached.
    const native = await openWs(`${wsUrl}/ws`);
    const wsify = await openWs(`${wsUrl}/ws`);
    const webdis = await openWs(`${wsUrl}/.json?secret=wrong`);
    let failures = 0;
    for (let i = 0; failures < 12; i++) {
      const t = i % 3;
      if (t === 0) {
        native.send({ type: "join", room: "other::z", secret: `g${i}`, id: i });
        expect(await native.next((m) => m.id === i)).toMatchObject({ type: "error", code: "forbidden" });
      } else if (t === 1) {
        wsify.send({ command: "join", args: { channel: "other::z", secret: `g${i}` } });
        expect(await wsify.next((m) => m.code !== undefined)).toMatchObject({ code: "forbidden" });
      } else {
        webdis.send(["SUBSCRIBE", "other::z"]);
        expect(await webdis.next((m) => m.SUBSCRIBE !== undefined && m.SUBSCRIBE[0] === false)).toBeTruthy();
      }
      failures++;
    }
    // Now nobody's guess is checked for "other", not even loopback's right secret...
    native.send({ type: "join", room: "other::z", secret: "right2", id: "last" });
    const e = await native.next((m) => m.id === "last");
    expect(e).toMatchObject({ type: "error", code: "rate_limited" });
    expect(e.message).toMatch(/roomspace "other"; retry in \d+ s/);
    const limited = await sse("room=other::z&secret=right2", from("198.51.100.99"));
    expect(limited.status).toBe(429);
    expect(limited.body.message).toContain('roomspace "other"');
    // ...while the other roomspace is unaffected for a fresh client.
    const ok = await fetch(`${srv.url}/sse?room=vault::q&secret=right`);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    for (const c of [native, wsify, webdis]) c.close();

    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    expect(metrics).toMatch(/ws_emit_join_failures_limited_total\{scope="address"\} [1-9]/);
    expect(metrics).toMatch(/ws_emit_join_failures_limited_total\{scope="roomspace"\} [1-9]/);
  });
});

describe("docs/security-check.sh (the commands docs/security.md shows)", () => {
  test("prints what the docs say", async () => {
    await using srv = await startWsEmit(["--roomspace-secret", "dir=S3cret", "--trust-proxy", "loopback", "--max-join-failures-per-address", "3"]);
    const p = Bun.spawn(["bash", `${ROOT}/docs/security-check.sh`, srv.url], { stdout: "pipe", stderr: "inherit" });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(out.trim().split("\n").map((l) => l.split(" ")[0])).toEqual(["200", "403", "403", "403", "403", "403", "403", "403", "403", "429"]);
  });
});
