/**
 * Standard HS256 JWTs as join tokens over every kind of transport: minted by PyJWT (Debian's
 * python3-jwt, through examples/presence/mint_jwt.py), by jose (examples/presence/mint-jwt.ts)
 * and by `ws-emit token --jwt`; refusals carry the same reasons as our own token format.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { SignJWT } from "jose";
import { emit, ROOT, runWsEmit, startWsEmit, type Started } from "../helpers/server.ts";
import { openEventSource } from "../helpers/sse.ts";
import { openWs, upgradeStatus } from "../helpers/ws.ts";
import { connectSio, emitAck, once } from "../helpers/sio.ts";

const EXAMPLES = resolve(ROOT, "examples/presence");
let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--roomspace-secret", "dir=S3cret", "--roomspace-secret", "img=0ther"]);
});
afterAll(() => srv.stop());

async function run(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect([code, err]).toEqual([0, ""]);
  return out.trim();
}
const pyjwt = (secret: string, sub: string, ...rooms: string[]) => run(["/usr/bin/python3", `${EXAMPLES}/mint_jwt.py`, secret, sub, ...rooms]);
const josejwt = (secret: string, sub: string, ...rooms: string[]) => run([process.execPath, `${EXAMPLES}/mint-jwt.ts`, secret, sub, ...rooms]);
async function cliJwt(...args: string[]): Promise<string> {
  const r = await runWsEmit(["token", "--jwt", ...args]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  return r.stdout.trim();
}
const now = () => Math.floor(Date.now() / 1000);
const jwt = (claims: Record<string, unknown>, key = "S3cret") => new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(key));

describe("JWTs minted by three libraries", () => {
  test("the three mint a three-part HS256 JWT", async () => {
    for (const t of [await pyjwt("S3cret", "u1", "dir::a"), await josejwt("S3cret", "u1", "dir::a"), await cliJwt("--room", "dir::a", "--secret", "S3cret", "--sub", "u1")]) {
      expect(t.split(".")).toHaveLength(3);
      expect(JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString()).alg).toBe("HS256");
    }
  });

  test("SSE: a PyJWT token joins; the event arrives", async () => {
    const t = await pyjwt("S3cret", "alice", "dir::*");
    const c = openEventSource(`${srv.url}/sse?room=dir::a.txt&token=${t}`, ["changed"]);
    await c.opened;
    await emit(srv.url, { event: "changed", room: "dir::a.txt", data: "py" });
    expect((await c.next((e) => e.type === "changed")).data).toBe('"py"');
    c.close();
  });

  test("native WebSocket: a jose token joins by frame, a `ws-emit token --jwt` one at upgrade", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ type: "join", room: "dir::b", token: await josejwt("S3cret", "bob", "dir::b"), id: 1 });
    expect(await c.next()).toEqual({ type: "joined", room: "dir::b", id: 1 });
    await emit(srv.url, { event: "changed", room: "dir::b", data: "js" });
    expect(await c.next((m) => m.type === "event")).toMatchObject({ room: "dir::b", data: "js" });
    c.close();
    const t = await cliJwt("--room", "img::*", "--secret", "0ther");
    const u = await openWs(`${srv.wsUrl}/ws?room=img::cat&token=${t}`);
    expect(await u.next()).toEqual({ type: "joined", room: "img::cat" });
    u.close();
  });

  test("Socket.IO: a PyJWT token joins; the event arrives", async () => {
    const socket = await connectSio(srv.url, { transports: ["websocket"] });
    expect(await emitAck(socket, "join", { room: "dir::c", token: await pyjwt("S3cret", "carol", "dir::c") })).toEqual({ ok: true });
    const got = once(socket, "changed");
    await emit(srv.url, { event: "changed", room: "dir::c", data: 9 });
    expect(await got).toEqual([9]);
    socket.close();
  });
});

describe("refused JWTs say why, on every transport", () => {
  const refusals = async (): Promise<Array<[string, string, string]>> => [
    ["expired", "dir::a", await jwt({ rooms: ["dir::a"], exp: now() - 1 })],
    ["bad_signature", "dir::a", await jwt({ rooms: ["dir::a"], exp: now() + 60 }, "0ther")],
    ["room_not_in_token", "dir::b", await jwt({ rooms: ["dir::a"], exp: now() + 60 })],
    ["not_yet_valid", "dir::a", await jwt({ rooms: ["dir::a"], exp: now() + 600, nbf: now() + 300 })],
    ["wrong_audience", "dir::a", await jwt({ rooms: ["dir::a"], exp: now() + 60, aud: "img" })],
    ["malformed", "dir::a", "eyJhbGciOiJub25lIn0.eyJyb29tcyI6WyJkaXI6OmEiXX0."],
  ];

  test("SSE and the native upgrade: 403 with the reason", async () => {
    for (const [reason, room, t] of await refusals()) {
      const res = await fetch(`${srv.url}/sse?room=${room}&token=${encodeURIComponent(t)}`);
      expect([reason, res.status, ((await res.json()) as { reason: string }).reason]).toEqual([reason, 403, reason]);
      const up = await upgradeStatus(`${srv.url}/ws?room=${room}&token=${encodeURIComponent(t)}`);
      expect([reason, up.status, up.body.reason]).toEqual([reason, 403, reason]);
    }
  });

  test("native join frames and Socket.IO acks carry the reason", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    const socket = await connectSio(srv.url, { transports: ["websocket"] });
    let id = 0;
    for (const [reason, room, t] of await refusals()) {
      c.send({ type: "join", room, token: t, id: ++id });
      expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", reason, id });
      expect(await emitAck(socket, "join", { room, token: t })).toMatchObject({ ok: false, error: "forbidden", reason });
    }
    c.close();
    socket.close();
  });
});
