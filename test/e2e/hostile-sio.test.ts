/**
 * Socket.IO / Engine.IO rules the reference server keeps and an independent protocol suite
 * checks (issue 11), on the compiled binary with a raw client: malformed packets close the
 * connection, a session that never connects a namespace is closed (--sio-connect-timeout),
 * a closed session answers 400 "Session ID unknown", a client close ends a waiting GET with
 * the noop. After each, the process still answers /healthz.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eioUrl, handshake, openRawWs, poll, send } from "../helpers/engineio.ts";
import { startWsEmit, type Started } from "../helpers/server.ts";

let srv: Started;
const SESSION_UNKNOWN = { code: 1, message: "Session ID unknown" };

async function expectAlive(s: Started = srv) {
  expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  expect(s.proc.exitCode).toBeNull();
}

async function getStatus(base: string, sid: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(eioUrl(base, { sid }));
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** A WebSocket session past the Engine.IO handshake (OPEN received). */
async function wsSession(base: string) {
  const ws = await openRawWs(`${base.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  expect(await ws.next()).toMatch(/^0\{/);
  return ws;
}

beforeAll(async () => {
  srv = await startWsEmit([], { bin: true });
});
afterAll(async () => {
  await srv?.stop();
});

describe("malformed packets close the connection (WebSocket)", () => {
  for (const [what, packets] of [
    ["Engine.IO garbage", ["abc"]],
    ["a Socket.IO packet of unknown type before CONNECT", ["4abc"]],
    ["an EVENT before CONNECT", ['42["hello"]']],
    ["an EVENT whose payload is an object", ["40", "42{}"]],
    ["an EVENT whose payload is an empty array", ["40", "42[]"]],
    ["an EVENT with a non-numeric ack id", ["40", '42abc["message-with-ack",1,"2"]']],
    ["a client ping (only servers ping in Engine.IO 4)", ["2"]],
  ] as const) {
    test(`${what}: ${packets.join(" then ")}`, async () => {
      const ws = await wsSession(srv.url);
      for (const p of packets) ws.send(p);
      expect(await ws.closed).toEqual({ code: 1002, reason: expect.stringMatching(/^protocol error: /) });
      await expectAlive();
    });
  }

  test("a valid connect to an unknown namespace is refused with CONNECT_ERROR, not closed", async () => {
    const ws = await wsSession(srv.url);
    ws.send("40/bad ns,");
    expect(await ws.next()).toBe('44/bad ns,{"message":"Invalid namespace"}');
    ws.send("40");
    expect(await ws.next()).toMatch(/^40\{"sid":/);
    ws.close();
  });
});

describe("malformed packets close the session (long-polling)", () => {
  test("POST abc: 400 Bad request, and the session is gone", async () => {
    const { sid } = await handshake(srv.url);
    expect(await send(srv.url, sid, "abc")).toEqual({ status: 400, text: '{"code":3,"message":"Bad request"}' });
    expect(await getStatus(srv.url, sid)).toEqual({ status: 400, body: SESSION_UNKNOWN });
    await expectAlive();
  });

  test("POST 4abc before 40: 400, and the session is gone", async () => {
    const { sid } = await handshake(srv.url);
    expect((await send(srv.url, sid, "4abc")).status).toBe(400);
    expect(await getStatus(srv.url, sid)).toEqual({ status: 400, body: SESSION_UNKNOWN });
  });

  test("POST 40 then 42{} in one payload: the CONNECT is answered, then the session is closed", async () => {
    const { sid } = await handshake(srv.url);
    expect((await send(srv.url, sid, "40", "42{}")).status).toBe(400);
    expect(await getStatus(srv.url, sid)).toEqual({ status: 400, body: SESSION_UNKNOWN });
  });
});

describe("upgrade probe", () => {
  test("garbage on a probing WebSocket closes only the probe; the session goes on polling", async () => {
    const { sid } = await handshake(srv.url);
    const probe = await openRawWs(`${srv.wsUrl}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    probe.send("abc");
    expect(await probe.closed).toEqual({ code: 1002, reason: "protocol error" });
    expect((await send(srv.url, sid, "40")).status).toBe(200);
    expect((await poll(srv.url, sid))[0]).toMatch(/^40\{"sid":/);
    expect((await send(srv.url, sid, "1")).status).toBe(200);
  });
});

describe("closing", () => {
  test("a client close (POST 1) while a GET waits: the GET gets the noop 6, later GETs 400", async () => {
    // The GET goes out first, but nothing tells the client when the server holds it: a round
    // where the POST overtook it (the GET then finds no session: 400) is run again.
    for (let attempt = 0; ; attempt++) {
      expect(attempt).toBeLessThan(10);
      const { sid } = await handshake(srv.url);
      expect((await send(srv.url, sid, "40")).status).toBe(200);
      expect((await poll(srv.url, sid))[0]).toMatch(/^40\{/);
      const waiting = getStatus(srv.url, sid);
      expect((await send(srv.url, sid, "1")).status).toBe(200);
      const got = await waiting;
      expect(await getStatus(srv.url, sid)).toEqual({ status: 400, body: SESSION_UNKNOWN });
      if (got.status === 400) continue;
      expect(got).toEqual({ status: 200, body: 6 });
      break;
    }
  });
});

describe("timeouts", () => {
  let conn: Started;
  let fast: Started;
  beforeAll(async () => {
    conn = await startWsEmit(["--sio-connect-timeout", "300ms"], { bin: true });
    fast = await startWsEmit(["--sio-ping-interval", "200ms", "--sio-ping-timeout", "200ms"], { bin: true });
  });
  afterAll(async () => {
    await conn?.stop();
    await fast?.stop();
  });

  test("--sio-connect-timeout closes a session that never sends 40, and only that one", async () => {
    // Connected first (its deadline comes first), then one that never connects.
    const connected = await wsSession(conn.url);
    connected.send("40");
    expect(await connected.next()).toMatch(/^40\{/);
    const silent = await wsSession(conn.url);
    expect((await silent.closed).code).toBe(1000);
    // The connected session passed its own deadline before that and still answers.
    connected.send('421["leave",{"room":"x"}]');
    expect(await connected.next()).toBe('431[{"ok":true}]');
    // Polling: the waiting GET is answered with the close packet; then the session is unknown.
    const { sid } = await handshake(conn.url);
    expect(await poll(conn.url, sid)).toEqual(["1"]);
    expect(await getStatus(conn.url, sid)).toEqual({ status: 400, body: SESSION_UNKNOWN });
    connected.close();
    await expectAlive(conn);
  });

  test("after a ping timeout a GET gets 400 Session ID unknown, not the close packet", async () => {
    const { sid } = await handshake(fast.url);
    // A WebSocket session opened just after it times out at the same sweep or later: its close says when.
    const witness = await wsSession(fast.url);
    expect(await witness.next()).toBe("2");
    expect(await witness.closed).toMatchObject({ code: 1000 });
    expect(await getStatus(fast.url, sid)).toEqual({ status: 400, body: SESSION_UNKNOWN });
    await expectAlive(fast);
  });
});
