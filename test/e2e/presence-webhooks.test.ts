/**
 * One node, no Redis: GET /rooms… (auth, paging, hostile input), presence members, and the
 * lifecycle webhooks delivered to the documented Python receiver (examples/presence/webhook_receiver.py),
 * which checks the signature; metrics for all of it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { signJwt } from "../../src/auth/jwt.ts";
import { signWebhook } from "../../src/ops/webhooks.ts";
import { ROOT, startWsEmit, until, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";
import { openEventSource } from "../helpers/sse.ts";
import { connectSio, emitAck } from "../helpers/sio.ts";

const RECEIVER = resolve(ROOT, "examples/presence/webhook_receiver.py");
const AUTH = { Authorization: "Bearer emit-key" };

/** The Python receiver, and the JSON lines it prints (one per event). */
function startReceiver(secret: string) {
  const proc = Bun.spawn(["/usr/bin/python3", RECEIVER, "0"], { env: { PATH: "/usr/bin:/bin", WS_EMIT_WEBHOOK_SECRET: secret }, stdout: "pipe", stderr: "inherit" });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        for (const w of waiters.splice(0)) w();
      }
    }
  })();
  const waitLines = async (n: number, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`receiver printed ${JSON.stringify(lines)}, wanted ${n} lines`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        waiters.push(() => (clearTimeout(t), r()));
      });
    }
  };
  return { proc, lines, waitLines };
}

let receiver: ReturnType<typeof startReceiver>;
let srv: Started;
let hookUrl = "";
beforeAll(async () => {
  receiver = startReceiver("hook-key");
  await receiver.waitLines(1);
  hookUrl = `http://127.0.0.1:${/listening on (\d+)/.exec(receiver.lines[0]!)![1]}/`;
  srv = await startWsEmit(["--secret", "emit-key", "--roomspace-secret", "dir=S", "--presence-roomspace", "dir", "--webhook-url", hookUrl, "--webhook-secret", "hook-key"]);
}, 20_000);
afterAll(async () => {
  await srv?.stop();
  receiver?.proc.kill();
});

const get = async (path: string, headers: Record<string, string> = AUTH) => {
  const res = await fetch(`${srv.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as any };
};

describe("lifecycle webhooks to the Python receiver", () => {
  test("join and leave: four signed events, printed once each by the receiver", async () => {
    const token = await signJwt({ rooms: ["dir::r1"], exp: Math.floor(Date.now() / 1000) + 60, sub: "u1" }, "S");
    const c = await openWs(`${srv.wsUrl}/ws?room=dir::r1&token=${token}`);
    await c.next();
    await until(async () => (await get("/rooms/dir::r1")).body.subscribers === 1, "dir::r1 occupied");
    expect(await get("/rooms/dir::r1")).toEqual({ status: 200, body: { room: "dir::r1", subscribers: 1, nodes: 1 } });
    expect(await get("/rooms/dir::r1/members")).toEqual({ status: 200, body: { room: "dir::r1", members: ["u1"], cursor: "0" } });
    c.close();
    await receiver.waitLines(5);
    const events = receiver.lines.slice(1).map((l) => JSON.parse(l));
    expect(events.map((e) => (e.sub ? `${e.type}:${e.sub}` : e.type)).sort()).toEqual(["member_added:u1", "member_removed:u1", "room_occupied", "room_vacated"]);
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
    for (const e of events) expect(e.room).toBe("dir::r1");
  });

  test("the receiver refuses a forged or stale body (401), takes a correctly signed one", async () => {
    const body = JSON.stringify({ events: [{ id: "x-1", type: "room_occupied", room: "forged", time: Date.now() }] });
    const now = Math.floor(Date.now() / 1000);
    const post = (ts: number, sig: string) => fetch(hookUrl, { method: "POST", headers: { "X-Ws-Emit-Timestamp": String(ts), "X-Ws-Emit-Signature": sig }, body });
    expect((await post(now, signWebhook("wrong-key", now, body))).status).toBe(401);
    expect((await post(now - 3600, signWebhook("hook-key", now - 3600, body))).status).toBe(401);
    expect((await post(now, "")).status).toBe(401);
    expect((await post(now, signWebhook("hook-key", now, body))).status).toBe(204);
    await receiver.waitLines(6);
    expect(JSON.parse(receiver.lines.at(-1)!).room).toBe("forged");
  });

  test("the shell check (examples/presence/verify-signature.sh, openssl) agrees with the signer", async () => {
    const body = '{"events":[{"id":"1-0","type":"room_occupied","room":"a b\\n","time":1}]}\n';
    const check = async (secret: string, ts: number, sig: string) => {
      const p = Bun.spawn(["sh", resolve(ROOT, "examples/presence/verify-signature.sh"), secret, String(ts), sig], { stdin: new TextEncoder().encode(body), stdout: "ignore", stderr: "inherit" });
      return p.exited;
    };
    expect(await check("hook-key", 1700000000, signWebhook("hook-key", 1700000000, body))).toBe(0);
    expect(await check("hook-key", 1700000001, signWebhook("hook-key", 1700000000, body))).toBe(1);
    expect(await check("other", 1700000000, signWebhook("hook-key", 1700000000, body))).toBe(1);
  });
});

describe("examples/presence/verify-signature.sh", () => {
  test.skipIf(!Bun.which("shellcheck"))("is shellcheck-clean (needs shellcheck)", async () => {
    const p = Bun.spawn(["shellcheck", "--shell=sh", resolve(ROOT, "examples/presence/verify-signature.sh")], { stdout: "pipe", stderr: "pipe" });
    expect([await p.exited, await new Response(p.stdout).text()]).toEqual([0, ""]);
  });
});

describe("GET /rooms", () => {
  test("needs the emit secret", async () => {
    expect((await get("/rooms", {})).status).toBe(403);
    expect((await get("/rooms/x", { Authorization: "Bearer nope" })).status).toBe(403);
    expect((await get("/rooms")).status).toBe(200);
  });

  test("pages through occupied rooms by prefix; ?occupied=1 is the whole snapshot", async () => {
    const clients = await Promise.all(["p-1", "p-2", "p-3", "p-4", "p-5", "q-1"].map((r) => openWs(`${srv.wsUrl}/ws?room=${r}`)));
    await Promise.all(clients.map((c) => c.next()));
    await until(async () => (await get("/rooms?prefix=p-")).body.rooms.length === 5, "five p- rooms");
    const seen: string[] = [];
    let cursor = "0";
    let pages = 0;
    do {
      const r = await get(`/rooms?prefix=p-&count=2&cursor=${encodeURIComponent(cursor)}`);
      expect(r.status).toBe(200);
      expect(r.body.rooms.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.rooms.map((x: { room: string }) => x.room));
      cursor = r.body.cursor;
      pages++;
    } while (cursor !== "0" && pages < 10);
    expect(seen.sort()).toEqual(["p-1", "p-2", "p-3", "p-4", "p-5"]);
    expect(pages).toBe(3);
    const snap = await get("/rooms?occupied=1");
    expect(snap.body.truncated).toBe(false);
    expect(snap.body.rooms.map((x: { room: string }) => x.room).sort()).toEqual(["p-1", "p-2", "p-3", "p-4", "p-5", "q-1"]);
    for (const c of clients) c.close();
    await until(async () => (await get("/rooms?occupied=1")).body.rooms.length === 0, "all vacated");
  });

  test("an SSE client counts like a WebSocket; an unjoined room is 0", async () => {
    const es = openEventSource(`${srv.url}/sse?room=both`);
    await es.opened;
    const c = await openWs(`${srv.wsUrl}/ws?room=both`);
    await c.next();
    await until(async () => (await get("/rooms/both")).body.subscribers === 2, "two subscribers");
    expect((await get("/rooms/nobody-here")).body).toEqual({ room: "nobody-here", subscribers: 0, nodes: 0 });
    es.close();
    c.close();
  });

  test("Socket.IO namespaces are counted apart (?namespace=)", async () => {
    const s = await connectSio(`${srv.url}/admin`, { transports: ["websocket"] });
    expect(await emitAck(s, "join", { room: "/looks|like-a-ns" })).toEqual({ ok: true });
    expect(await emitAck(s, "join", { room: "ns-room" })).toEqual({ ok: true });
    await until(async () => (await get("/rooms/ns-room?namespace=/admin")).body.subscribers === 1, "ns-room in /admin");
    expect((await get("/rooms/ns-room")).body.subscribers).toBe(0);
    expect((await get("/rooms?namespace=/admin")).body.rooms.sort((x: any, y: any) => x.room.localeCompare(y.room))).toEqual([
      { room: "/looks|like-a-ns", subscribers: 1 },
      { room: "ns-room", subscribers: 1 },
    ]);
    expect((await get("/rooms")).body.rooms.map((r: { room: string }) => r.room)).not.toContain("ns-room");
    s.close();
    await until(async () => (await get("/rooms?namespace=/admin")).body.rooms.length === 0, "/admin empty");
  });

  test("hostile input: clear 4xx errors", async () => {
    const cases: Array<[string, number]> = [
      ["/rooms/%ZZ", 400],
      ["/rooms/a%20b", 400],
      [`/rooms/${"x".repeat(5000)}`, 400],
      ["/rooms/a/b/c", 404],
      ["/rooms?count=0", 400],
      ["/rooms?count=1e9", 400],
      ["/rooms?cursor=abc", 400],
      [`/rooms?prefix=${"p".repeat(300)}`, 400],
      ["/rooms?namespace=bad%20ns", 400],
      ["/rooms/public/members", 404],
    ];
    for (const [path, status] of cases) {
      const r = await get(path);
      expect([path, r.status, typeof r.body.error, typeof r.body.message]).toEqual([path, status, "string", "string"]);
    }
    const post = await fetch(`${srv.url}/rooms`, { method: "POST", headers: AUTH });
    expect(post.status).toBe(405);
  });

  test("metrics count transitions, flushes and delivered webhook events", async () => {
    const text = await (await fetch(`${srv.url}/metrics`, { headers: AUTH })).text();
    const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    expect(num(/ws_emit_occupancy_transitions_total\{type="room_occupied"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(num(/ws_emit_occupancy_flushes_total\{result="ok"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(num(/ws_emit_webhook_events_total (\d+)/)).toBeGreaterThanOrEqual(4);
    expect(num(/ws_emit_webhook_deliveries_total\{result="ok"\} (\d+)/)).toBeGreaterThanOrEqual(1);
  });
});

describe("shutdown", () => {
  test("SIGTERM: the rooms the drain empties are reported before the process exits", async () => {
    const c = await openWs(`${srv.wsUrl}/ws?room=bye`);
    await c.next();
    await until(async () => (await get("/rooms/bye")).body.subscribers === 1, "bye occupied");
    const n = receiver.lines.length;
    expect(await srv.stop("SIGTERM")).toBe(0);
    await receiver.waitLines(n + 1);
    expect(receiver.lines.slice(n).map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ type: "room_vacated", room: "bye" }));
  });
});
