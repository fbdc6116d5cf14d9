/**
 * examples/time: the original ws-emit `time` example (a Flask-SocketIO backend emitting the
 * Unix time every second, and its page's client code) works against ws-emit unchanged, and so
 * does the curl version.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { startRedis } from "../helpers/redis.ts";
import { cleanEnv, ROOT, startWsEmit } from "../helpers/server.ts";
import { connectSio, once } from "../helpers/sio.ts";

const DIR = resolve(ROOT, "examples/time");

/** Join "time" as the example page does and wait for one update. */
async function firstUpdate(url: string): Promise<any> {
  const socket = await connectSio(url);
  const update = once(socket, "update", 10_000);
  socket.emit("join", { room: "time" });
  const [msg] = await update;
  socket.close();
  return msg;
}

describe("examples/time", () => {
  test("time.py (Flask-SocketIO message queue) reaches the page's Socket.IO client", async () => {
    await using redis = await startRedis();
    await using srv = await startWsEmit(["--redis", redis.url]);
    await srv.waitForLine(/subscribed to flask-socketio/);
    const py = Bun.spawn(["/usr/bin/python3", `${DIR}/time.py`], { env: cleanEnv({ REDIS: redis.url }), stdout: "ignore", stderr: "pipe" });
    try {
      const msg = await firstUpdate(srv.url);
      expect(Math.abs(msg.time - Date.now() / 1000)).toBeLessThan(5);
    } finally {
      py.kill();
      await py.exited;
    }
  });

  test("time.sh (curl) does the same without Redis", async () => {
    await using srv = await startWsEmit([]);
    const sh = Bun.spawn(["sh", `${DIR}/time.sh`], { env: cleanEnv({ WS_EMIT_URL: srv.url }), stdout: "ignore", stderr: "pipe" });
    try {
      const msg = await firstUpdate(srv.url);
      expect(Math.abs(msg.time - Date.now() / 1000)).toBeLessThan(5);
    } finally {
      sh.kill();
      await sh.exited;
    }
  });
});
