/**
 * examples/subspy: what Flask-SocketIO, a hand-made pickle, a hostile pickle, ws-emit's JSON
 * channel and @socket.io/redis-emitter publish is printed readably; the hostile pickle is
 * refused, never run. (A terminal tool: no page, so no browser.)
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Emitter } from "@socket.io/redis-emitter";
import Redis from "ioredis";
import { runExample } from "../helpers/example.ts";
import { startRedis } from "../helpers/redis.ts";
import { cleanEnv } from "../helpers/server.ts";

async function py(code: string, env: Record<string, string> = {}): Promise<void> {
  const p = Bun.spawn(["/usr/bin/python3", "-c", code], { env: cleanEnv(env), stdout: "pipe", stderr: "pipe" });
  const [err, rc] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (rc !== 0) throw new Error(`python failed: ${err}`);
}

describe("examples/subspy", () => {
  test("prints every kind of published message readably; a hostile pickle is refused", { timeout: 30_000 }, async () => {
    await using redis = await startRedis();
    await using spy = await runExample([process.execPath, "examples/subspy/subspy.ts", redis.url], {}, /^listening on /);
    const next = (re: RegExp) => spy.waitForLine(re);

    // Flask-SocketIO, as examples/time/time.py sends (JSON or pickle, by python-socketio version).
    await py(`from flask_socketio import SocketIO\nSocketIO(message_queue=${JSON.stringify(redis.url)}).emit("update", {"time": 1639178370}, room="time")`);
    expect(await next(/^\[flask-socketio\]/)).toMatch(/^\[flask-socketio\] (json|pickle): emit "update" to room time: \{"time":1639178370\}$/);
    const rawLine = spy.lines[spy.lines.findIndex((l) => l.startsWith("[flask-socketio]")) + 1]!;
    expect(rawLine).toContain('"method":"emit"');

    // An old python-socketio's pickle, made by Python's own pickle module.
    const pub = `import pickle, redis\nr = redis.Redis.from_url(${JSON.stringify(redis.url)})\n`;
    await py(`${pub}r.publish("socketio", pickle.dumps({"method": "emit", "event": "news", "data": ("a", 2), "namespace": "/", "room": None, "skip_sid": None, "callback": None, "host_id": "h"}, protocol=4))`);
    expect(await next(/^\[socketio\]/)).toBe('[socketio] pickle: emit "news" to everyone: ["a",2]');
    expect(await next(/^  pickle \{"method":"emit","event":"news"/)).toContain('"data":["a",2]');

    // A pickle that would run a command when unpickled: refused by name, and nothing ran.
    const dir = mkdtempSync(join(tmpdir(), "subspy-"));
    try {
      const marker = join(dir, "pwned");
      await py(`${pub}import os\nclass X:\n  def __reduce__(self): return (os.system, ("touch ${marker}",))\nr.publish("flask-socketio", pickle.dumps(X(), protocol=2))`);
      expect(await next(/^\[flask-socketio\] not understood/)).toContain("not understood");
      expect(await next(/^  pickle refused: /)).toMatch(/GLOBAL|STACK_GLOBAL|REDUCE/);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // ws-emit's JSON channel and the Socket.IO emitter.
    const r = new Redis(redis.url);
    try {
      await r.publish("ws-emit", JSON.stringify({ event: "update", room: "dir::a.txt", data: { size: 3 } }));
      expect(await next(/^\[ws-emit\]/)).toBe('[ws-emit] json: emit "update" to room dir::a.txt: {"size":3}');
      new Emitter(r).to("lobby").emit("hello", { n: 1 });
      expect(await next(/^\[socket\.io#/)).toMatch(/^\[socket\.io#\/#(lobby#)?\] msgpack: emit "hello" to room lobby: \{"n":1\}$/);
    } finally {
      r.disconnect();
    }
    if (process.env.WS_EMIT_TEST_LOG) console.log(spy.lines.join("\n"));
  });
});
