/**
 * The error boundary: frames that once ended the process (an exception inside a Bun handler)
 * now end at most their own connection. Whatever a protocol module gets wrong, the process,
 * and every other client, keeps going.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startWsEmit, type Started } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

let srv: Started;
beforeAll(async () => {
  srv = await startWsEmit(["--max-message", "256k"], { bin: true });
});
afterAll(async () => {
  await srv.stop();
});

async function alive(): Promise<void> {
  const res = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(1000) });
  expect(res.status).toBe(200);
}

/** A frame that once crashed the server: after it, the sender may be closed, but a bystander still gets emits. */
async function survives(frame: string) {
  const bystander = await openWs(`${srv.wsUrl}/ws?room=b`);
  await bystander.next((m) => m.type === "joined");
  const attacker = await openWs(`${srv.wsUrl}/ws`);
  attacker.send(frame);
  // Whatever the server answers (an error frame, or a close), it answers: wait for either.
  await Promise.race([attacker.next(() => true, 5000), attacker.closed]);
  await alive();
  const res = await fetch(`${srv.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ room: "b", event: "e", data: 1 }) });
  expect(res.status).toBe(200);
  expect((await bystander.next((m) => m.type === "event")).data).toBe(1);
  attacker.close();
  bystander.close();
}

describe("frames that used to end the process", () => {
  test("wsify join with an object whose toString is not a function", async () => {
    await survives('{"command":"join","args":{"channel":{"toString":1}}}');
  });
  test("wsify join with a 5,000-deep array as the channel", async () => {
    await survives(`{"command":"join","args":{"channel":${"[".repeat(5000)}${"]".repeat(5000)}}}`);
  });
  test("a 45,000-deep native frame (re-serialised in the error reply)", async () => {
    await survives(`${"[".repeat(45_000)}${"]".repeat(45_000)}`);
  });
});

test("an HTTP/1.0 request without Host gets a 400, not a 500 or a crash", async () => {
  const { port } = new URL(srv.url);
  let out = "";
  const got = Promise.withResolvers<void>();
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port: Number(port),
    socket: {
      data(_s, d) {
        out += d.toString();
        if (out.includes("\r\n\r\n")) got.resolve();
      },
      close() {
        got.resolve();
      },
    },
  });
  sock.write("GET /healthz HTTP/1.0\r\n\r\n");
  await got.promise;
  sock.end();
  expect(out).toMatch(/^HTTP\/1\.[01] (200|400)/);
  await alive();
});

test("a malformed percent-escape in /roomspaces/<name>/secret is a 400 with JSON", async () => {
  const res = await fetch(`${srv.url}/roomspaces/%E0%A4%A/secret`, { method: "PUT", body: JSON.stringify({ secret: "x" }) });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: string }).error).toBe("bad_request");
  await alive();
});
