/** The compiled binary embeds the socket.io-client bundle and speaks Socket.IO (build first: `bun scripts/build.ts`; npm test does). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { BIN, emit, startWsEmit, type Started } from "../helpers/server.ts";
import { connectSio, emitAck, recorder } from "../helpers/sio.ts";

let srv: Started;
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run node_modules/.bin/bun scripts/build.ts first (npm test does)`);
  // Run from another directory: the bundle must come from inside the binary, not node_modules.
  srv = await startWsEmit(["--secret", "123"], { bin: true, cwd: "/tmp" });
});
afterAll(() => srv?.stop());

test("binary: serves /socket.io/socket.io.min.js and a socket.io-client connects and receives", async () => {
  const res = await fetch(`${srv.url}/socket.io/socket.io.min.js`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text.length).toBeGreaterThan(10_000);
  expect(text).toContain("socket.io");
  const full = await fetch(`${srv.url}/socket.io/socket.io.js`);
  expect(full.status).toBe(200);

  const socket = await connectSio(srv.url);
  expect(await emitAck(socket, "join", { room: "time" })).toEqual({ ok: true });
  const rec = recorder(socket, "update");
  await emit(srv.url, { event: "update", room: "time", data: { time: 7 }, secret: "123" });
  expect(await rec.next()).toEqual([{ time: 7 }]);
  socket.close();
});
