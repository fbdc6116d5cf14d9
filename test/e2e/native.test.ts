import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { emit, startWsEmit, type Started } from "../helpers/server.ts";
import { openWs, upgradeStatus } from "../helpers/ws.ts";

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--secret", "123", "--roomspace-secret", "dir=S3cret", "--cors", "http://localhost:7788"]);
});
afterAll(() => srv.stop());

describe("native WebSocket protocol", () => {
  test("public join via query and via frame, event delivery", async () => {
    const a = await openWs(`${srv.wsUrl}/ws?room=time`);
    expect(await a.next()).toEqual({ type: "joined", room: "time" });
    const b = await openWs(`${srv.wsUrl}/ws`);
    b.send({ type: "join", room: "time", id: 7 });
    expect(await b.next()).toEqual({ type: "joined", room: "time", id: 7 });
    const r = await emit(srv.url, { event: "update", room: "time", data: { time: 1 }, namespace: null, secret: "123" });
    expect(r.status).toBe(200);
    expect(r.body.delivered).toBe(2);
    const ev = { type: "event", room: "time", event: "update", data: { time: 1 } };
    expect(await a.next((m) => m.type === "event")).toEqual(ev);
    expect(await b.next((m) => m.type === "event")).toEqual(ev);
    a.close();
    b.close();
  });

  test("private room: right, wrong and missing secret", async () => {
    const c = await openWs(`${srv.wsUrl}/ws`);
    c.send({ type: "join", room: "dir::a.txt", secret: "nope", id: 1 });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", room: "dir::a.txt", id: 1 });
    c.send({ type: "join", room: "dir::a.txt", id: 2 });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", id: 2 });
    // A roomspace without a secret admits nobody, and says so.
    c.send({ type: "join", room: "nosecret::x", secret: "anything", id: 9 });
    expect(await c.next()).toMatchObject({ type: "error", code: "forbidden", id: 9, message: 'roomspace "nosecret" has no secret set: nobody may join its rooms' });
    c.send({ type: "join", room: "dir::a.txt", secret: "S3cret", id: 3 });
    expect(await c.next()).toEqual({ type: "joined", room: "dir::a.txt", id: 3 });
    await emit(srv.url, { event: "changed", room: "dir::a.txt", data: "aaa2" }, { Authorization: "Bearer 123" });
    expect(await c.next((m) => m.type === "event")).toEqual({ type: "event", room: "dir::a.txt", event: "changed", data: "aaa2" });
    c.close();
  });

  test("disallowed Origin is refused before the upgrade; allowed and same-origin pass", async () => {
    const bad = await upgradeStatus(`${srv.url}/ws`, { Origin: "http://evil.example" });
    expect(bad.status).toBe(403);
    expect(bad.body.error).toBe("origin_not_allowed");
    const good = await openWs(`${srv.wsUrl}/ws`, { headers: { Origin: "http://localhost:7788" } });
    good.close();
  });
});
