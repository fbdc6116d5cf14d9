/**
 * Hostile HTTP ingest against the compiled binary (issue 11): over-deep event data is refused at
 * the door with 400 and the depth limit named, on POST /emit, wsify's /broadcast and
 * `ws-emit emit`; webdis /PUBLISH carries text verbatim whatever it looks like; a roomspace name
 * with broken percent-encoding is a 400, not a 500. After each, /healthz still answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runWsEmit, startWsEmit, wsEmitCommand, cleanEnv, ROOT, type Started } from "../helpers/server.ts";
import { openWs, type TestWs } from "../helpers/ws.ts";

let srv: Started;
let client: TestWs;

const deepText = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);
const DEEP = deepText(100_000);

async function expectAlive() {
  const res = await fetch(`${srv.url}/healthz`);
  expect(res.status).toBe(200);
  expect(srv.proc.exitCode).toBeNull();
}

const postJson = async (path: string, body: string) => {
  const res = await fetch(`${srv.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
};

beforeAll(async () => {
  srv = await startWsEmit([], { bin: true });
  client = await openWs(`${srv.wsUrl}/ws?room=r`);
  await client.next((m) => m?.type === "joined");
});
afterAll(async () => {
  client?.close();
  await srv?.stop();
});

describe("POST /emit", () => {
  test("data 100,000 levels deep: 400 naming the limit; subscribers get nothing of it", async () => {
    const r = await postJson("/emit", `{"event":"deep","room":"r","data":${DEEP}}`);
    expect(r).toEqual({ status: 400, body: { error: "bad_request", message: '"data" nests deeper than 100 levels (the limit for event data)' } });
    const a = await postJson("/emit", `{"event":"deep","room":"r","args":[1,${DEEP}]}`);
    expect(a.status).toBe(400);
    expect(a.body.message).toContain("deeper than 100 levels");
    const batch = await postJson("/emit", `[{"event":"ok","room":"r"},{"event":"deep","room":"r","data":${DEEP}}]`);
    expect(batch.status).toBe(400);
    expect(batch.body.message).toMatch(/^item 1: .*deeper than 100 levels/);
    // Exactly at the limit is accepted and delivered; it is the first event the client sees.
    const ok = await postJson("/emit", `{"event":"edge","room":"r","data":${deepText(100)}}`);
    expect(ok.status).toBe(200);
    const m = await client.next((x) => x?.type === "event");
    expect(m.event).toBe("edge");
    await expectAlive();
  });
});

describe("roomspace secrets", () => {
  test("PUT and DELETE /roomspaces/%E0%A4%A/secret: 400 JSON, not a 500", async () => {
    for (const method of ["PUT", "DELETE"]) {
      const res = await fetch(`${srv.url}/roomspaces/%E0%A4%A/secret`, { method, headers: { "Content-Type": "application/json" }, body: method === "PUT" ? '{"secret":"s"}' : undefined });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "bad_request", message: "bad percent-encoding in the roomspace name" });
    }
    await expectAlive();
  });
});

describe("wsify POST /broadcast", () => {
  test('a channel {"toString":1} or a deep one is 400; deep content is 400', async () => {
    for (const [body, message] of [
      ['{"channel":{"toString":1},"content":1}', '"channel": room must be a string'],
      [`{"channels":[${deepText(5000)}],"content":1}`, '"channel": room must be a string'],
      [`{"channel":"r","content":${DEEP}}`, '"content" nests deeper than 100 levels (the limit for event data)'],
    ]) {
      expect(await postJson("/broadcast", body!)).toEqual({ status: 400, body: { error: "bad_request", message } });
    }
    // A number still names a channel, as before.
    expect((await postJson("/broadcast", '{"channel":42,"content":"x"}')).status).toBe(201);
    await expectAlive();
  });
});

describe("webdis /PUBLISH", () => {
  test("text shaped like 100,000 levels of JSON goes out verbatim as text", async () => {
    const w = await openWs(`${srv.wsUrl}/.json`);
    w.send(["SUBSCRIBE", "wd"]);
    await w.next((m) => m?.SUBSCRIBE?.[0] === "subscribe");
    const res = await fetch(`${srv.url}/PUBLISH/wd`, { method: "POST", body: DEEP });
    expect(await res.json()).toEqual({ PUBLISH: 1 });
    const m = await w.next((x) => x?.SUBSCRIBE?.[0] === "message");
    expect(m.SUBSCRIBE[2]).toBe(DEEP);
    w.close();
    await expectAlive();
  });
});

describe("ws-emit emit", () => {
  test("DATA past the depth limit is refused before sending, naming DATA (argument and stdin)", async () => {
    const r = await runWsEmit(["emit", "e", deepText(5000), "--url", srv.url], { bin: true });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("ws-emit emit: DATA nests deeper than 100 levels (the limit for event data)");
    const proc = Bun.spawn([...wsEmitCommand(true), "emit", "e", "-", "--url", srv.url], { env: cleanEnv(), stdin: new Blob([DEEP]), stdout: "pipe", stderr: "pipe", cwd: ROOT });
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(err.trim()).toBe("ws-emit emit: DATA (stdin) nests deeper than 100 levels (the limit for event data)");
    await expectAlive();
  });
});
