import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { signWspushToken } from "../../src/protocols/wspush.ts";
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
