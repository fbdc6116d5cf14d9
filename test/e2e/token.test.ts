import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { signToken } from "../../src/auth/token.ts";
import { emit, runWsEmit, startWsEmit, type Started } from "../helpers/server.ts";
import { openEventSource } from "../helpers/sse.ts";
import { openWs, upgradeStatus } from "../helpers/ws.ts";
import { connectSio, emitAck, once } from "../helpers/sio.ts";

const MINT_PY = resolve(import.meta.dir, "../helpers/mint_token.py");

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--roomspace-secret", "dir=S3cret", "--roomspace-secret", "img=0ther"]);
});
afterAll(() => srv.stop());

const now = () => Math.floor(Date.now() / 1000);
const tok = (rooms: string[], key = "S3cret", exp = now() + 600) => signToken({ rooms, exp }, key);

async function cliToken(...args: string[]): Promise<string> {
  const r = await runWsEmit(["token", ...args]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  return r.stdout.trim();
}

describe("signed tokens over SSE", () => {
  test("a token minted by `ws-emit token` joins a private room; the event arrives", async () => {
    const t = await cliToken("--room", "dir::a.txt", "--secret", "S3cret", "--ttl", "1h");
    const c = openEventSource(`${srv.url}/sse?room=dir::a.txt&token=${t}`, ["changed"]);
    await c.opened;
    await emit(srv.url, { event: "changed", room: "dir::a.txt", data: "aaa2" });
    expect(await c.next()).toEqual({ type: "changed", data: '"aaa2"' });
    c.close();
  });

  test("a pattern token minted by Python's standard library (the README snippet) covers several rooms", async () => {
    const proc = Bun.spawn(["/usr/bin/python3", MINT_PY, "S3cret", "600", "dir::*"], { stdout: "pipe" });
    const t = (await new Response(proc.stdout).text()).trim();
    expect(await proc.exited).toBe(0);
    const c = openEventSource(`${srv.url}/sse?room=dir::x&room=dir::y&room=public&token=${t}`, ["e"]);
    await c.opened;
    const rooms = ["dir::x", "dir::y", "public"];
    for (const room of rooms) await emit(srv.url, { event: "e", room, data: room });
    const got = [await c.next(), await c.next(), await c.next()];
    expect(got).toEqual(rooms.map((r) => ({ type: "e", data: JSON.stringify(r) })));
    c.close();
  });

  test("refused tokens: 403 JSON with the reason, before the stream", async () => {
    const good = tok(["dir::a.txt"]);
    const [part, sig] = good.split(".");
    const cases: Array<[string, string, string]> = [
      ["expired", "dir::a.txt", tok(["dir::a.txt"], "S3cret", now() - 1)],
      ["bad_signature", "dir::a.txt", tok(["dir::a.txt"], "wrong-key")],
      ["bad_signature", "dir::a.txt", `${part}.${sig!.slice(0, -2)}${sig!.endsWith("AA") ? "BB" : "AA"}`],
      // Signed with dir's secret: worthless for another roomspace even if it names the room.
      ["bad_signature", "img::cat", tok(["img::cat"])],
      ["room_not_in_token", "dir::b.txt", good],
      ["malformed", "dir::a.txt", "not-a-token"],
    ];
    for (const [reason, room, t] of cases) {
      const res = await fetch(`${srv.url}/sse?room=${room}&token=${encodeURIComponent(t)}`);
      expect([reason, res.status]).toEqual([reason, 403]);
      expect(await res.json()).toMatchObject({ error: "forbidden", reason });
    }
    const es = openEventSource(`${srv.url}/sse?room=dir::a.txt&token=${tok(["dir::a.txt"], "S3cret", now() - 1)}`);
    await expect(es.opened).rejects.toMatchObject({ code: 403 });
  });
});

describe("signed tokens over the native WebSocket", () => {
  test("join frame with a token; refusals carry the reason", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ type: "join", room: "dir::a.txt", token: tok(["dir::b.txt"]), id: 1 });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", reason: "room_not_in_token", room: "dir::a.txt", id: 1 });
    c.send({ type: "join", room: "dir::a.txt", token: tok(["dir::a.txt"], "S3cret", now() - 5), id: 2 });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", reason: "expired", id: 2 });
    c.send({ type: "join", room: "dir::a.txt", token: tok(["dir::a.txt"]), id: 3 });
    expect(await c.next()).toEqual({ type: "joined", room: "dir::a.txt", id: 3 });
    await emit(srv.url, { event: "changed", room: "dir::a.txt", data: "v2" });
    expect(await c.next((m) => m.type === "event")).toEqual({ type: "event", room: "dir::a.txt", event: "changed", data: "v2" });
    c.close();
  });

  test("/ws?room=…&token=… joins at upgrade; a bad token is a 403 before it", async () => {
    const t = await cliToken("--room", "img::*", "--secret", "0ther");
    const c = await openWs(`${srv.wsUrl}/ws?room=img::cat&token=${t}`);
    expect(await c.next()).toEqual({ type: "joined", room: "img::cat" });
    c.close();
    const bad = await upgradeStatus(`${srv.url}/ws?room=img::cat&token=${tok(["img::cat"])}`);
    expect(bad.status).toBe(403);
    expect(bad.body).toMatchObject({ error: "forbidden", reason: "bad_signature" });
  });
});

describe("signed tokens over Socket.IO", () => {
  test("join with {room, token}; the ack carries the refusal reason", async () => {
    const socket = await connectSio(srv.url, { transports: ["websocket"] });
    expect(await emitAck(socket, "join", { room: "dir::a.txt", token: tok(["dir::*"], "S3cret", now() - 1) })).toMatchObject({ ok: false, error: "forbidden", reason: "expired" });
    expect(await emitAck(socket, "join", { room: "dir::a.txt", token: tok(["dir::*"]) })).toEqual({ ok: true });
    const got = once(socket, "changed");
    await emit(srv.url, { event: "changed", room: "dir::a.txt", data: 7 });
    expect(await got).toEqual([7]);
    socket.close();
  });
});

describe("ws-emit token", () => {
  test("bad arguments exit 2 naming the flag", async () => {
    const r = await runWsEmit(["token", "--room", "public", "--ttl", "soon"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--room public: a public room needs no token");
    expect(r.stderr).toContain("--secret is required");
    expect(r.stderr).toContain("--ttl soon");
    expect(r.stdout).toBe("");
  });
});
