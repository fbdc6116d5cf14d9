/**
 * Hostile frames on the JSON WebSocket protocols (native and wsify on /ws, webdis on /.json),
 * sent to the compiled binary: each used to end the process (issue 11). Every test asserts the
 * answer a client sees and that the same process still answers /healthz afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

let srv: Started;

/** Deep nesting as text: what JSON.stringify and String() used to recurse through. */
const deepText = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);

async function expectAlive() {
  const res = await fetch(`${srv.url}/healthz`);
  expect(res.status).toBe(200);
  expect(srv.proc.exitCode).toBeNull();
}

beforeAll(async () => {
  // 1m frames: room for ~500,000 levels of nesting (the crash needed ~45,000).
  srv = await startWsEmit(["--max-message", "1m", "--max-bad-frames", "1000"], { bin: true });
});
afterAll(async () => {
  await srv?.stop();
});

describe("wsify commands on /ws", () => {
  test('a channel {"toString":1} is refused with an error frame (it used to kill the process)', async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send('{"command":"join","args":{"channel":{"toString":1}}}');
    const m = await c.next((x) => x?.type === "error");
    expect(m).toEqual({ type: "error", code: "bad_request", message: '"channel" must be a string, got an object' });
    // The connection stays usable: a valid join after it works (no reply in wsify on success).
    c.send({ command: "join", args: { channels: ["a", 5, { toString: 1 }] } });
    expect(await c.next((x) => x?.type === "error")).toMatchObject({ code: "bad_request", message: expect.stringContaining('"channels" must hold strings') });
    c.close();
    await expectAlive();
  });

  test("a 5,000-deep array as the channel, and 200,000-deep content, are refused", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send(`{"command":"join","args":{"channel":${deepText(5000)}}}`);
    expect(await c.next((x) => x?.type === "error")).toMatchObject({ code: "bad_request", message: '"channel" must be a string, got an array' });
    c.send(`{"command":"broadcast","args":{"channel":"a","content":${deepText(200_000)}}}`);
    expect(await c.next((x) => x?.type === "error")).toMatchObject({ code: "bad_request", message: expect.stringContaining("deeper than 100 levels") });
    c.close();
    await expectAlive();
  });

  test("the first frame of a connection (the one that switches it to wsify) may be 200,000 levels deep", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send(`{"command":"join","args":{"channel":"a"},"extra":${deepText(200_000)}}`);
    expect(await c.next((x) => x?.type === "error")).toMatchObject({ code: "bad_request", message: expect.stringContaining("deeper than 100 levels") });
    c.close();
    await expectAlive();
  });

  test("an unknown command is quoted cut to 100 characters", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ command: "x".repeat(60_000), args: { channel: "a" } });
    const m = await c.next((x) => x?.type === "error");
    expect(m.message).toContain("60000 characters");
    expect(JSON.stringify(m).length).toBeLessThan(300);
    c.close();
    await expectAlive();
  });
});

describe("native frames on /ws", () => {
  test("an unknown frame type 200,000 levels deep gets a short error frame", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send(`{"type":${deepText(200_000)}}`);
    expect(await c.next((x) => x?.type === "error")).toEqual({ type: "error", code: "bad_request", message: "unknown frame type an array; expected join, leave or ping" });
    c.close();
    await expectAlive();
  });

  test("error frames do not echo a 60 KB invalid value (type, room, id)", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ type: "[".repeat(60_000) });
    const a = await c.next((x) => x?.type === "error");
    expect(JSON.stringify(a).length).toBeLessThan(300);
    expect(a.message).toContain("60000 characters");
    c.send({ type: "join", room: "r".repeat(60_000) });
    const b = await c.next((x) => x?.type === "error");
    expect(b.code).toBe("bad_request");
    expect(b.room.length).toBeLessThanOrEqual(201);
    c.send({ type: "ping", id: "i".repeat(60_000) });
    const d = await c.next((x) => x?.type === "error");
    expect(d).toEqual({ type: "error", code: "bad_request", message: '"id" is longer than 200 characters' });
    c.close();
    await expectAlive();
  });

  test("a join whose room is deep is refused as not a string", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send(`{"type":"join","room":${deepText(200_000)},"id":1}`);
    expect(await c.next((x) => x?.type === "error")).toEqual({ type: "error", code: "bad_request", message: "room must be a string", id: 1 });
    c.close();
    await expectAlive();
  });
});

describe("webdis on /.json", () => {
  test("a deep channel name closes the connection with 1007, nothing else", async () => {
    const c = await openWs(`${srv.wsUrl}/.json`);
    c.send(`["SUBSCRIBE",${deepText(200_000)}]`);
    expect(await c.closed).toEqual({ code: 1007, reason: "channel names must be strings or numbers" });
    await expectAlive();
  });

  test("a 60 KB command name and channel name come back cut", async () => {
    const c = await openWs(`${srv.wsUrl}/.json`);
    c.send(JSON.stringify(["x".repeat(60_000)]));
    const m = await c.next();
    expect(JSON.stringify(m).length).toBeLessThan(200);
    c.send(JSON.stringify(["UNSUBSCRIBE", "c".repeat(60_000)]));
    const u = await c.next((x) => x?.UNSUBSCRIBE);
    expect(u.UNSUBSCRIBE[1].length).toBeLessThanOrEqual(201);
    c.close();
    await expectAlive();
  });
});
