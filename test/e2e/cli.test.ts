import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { emit, runWsEmit, startWsEmit } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

// Every CLI behaviour is checked on the source and on the compiled binary (built by npm test).
for (const bin of [false, true]) {
  const label = bin ? "binary" : "source";
  describe(`ws-emit CLI (${label})`, () => {
    test("--version and --help", async () => {
      const v = await runWsEmit(["--version"], { bin });
      expect(v.code).toBe(0);
      expect(v.stdout.trim()).toBe(pkg.version);
      const h = await runWsEmit(["--help"], { bin });
      expect(h.code).toBe(0);
      for (const flag of ["--address", "--cors", "--secret", "--redis", "--log-format", "--config"]) expect(h.stdout).toContain(flag);
    });

    test("bad values: every problem at once, exit 2, no stack trace", async () => {
      const r = await runWsEmit(["--address", "nope", "--log-format", "xml", "--bogus", "1"], { bin });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("unknown flag --bogus");
      const again = await runWsEmit(["--address", "nope", "--log-format", "xml", "--cors", "ftp://x"], { bin, env: { WS_EMIT_MAX_ROOMS: "many" } });
      expect(again.code).toBe(2);
      for (const s of ["--address", "--log-format", "--cors", "WS_EMIT_MAX_ROOMS"]) expect(again.stderr).toContain(s);
      expect(again.stderr).not.toMatch(/at .*\.ts:\d+/);
    });

    test("the seed's /etc/default/ws-emit file, env over file, flags over env", async () => {
      const dir = mkdtempSync(join(tmpdir(), "ws-emit-cfg-"));
      const file = join(dir, "ws-emit");
      writeFileSync(file, '# as installed\nADDRESS="127.0.0.1:1"\nCORS="http://file.example"\nSECRET="from-file"\n');
      await using srv = await startWsEmit(["--config", file, "--address", "127.0.0.1:0", "--log-format", "json"], { bin, env: { CORS: "http://env.example" } });
      const listening = JSON.parse(srv.lines.find((l) => l.includes("listening on"))!);
      expect(listening.cors).toEqual(["http://env.example"]);
      expect(listening.emit_auth).toBe("secret");
      expect(JSON.stringify(srv.lines)).not.toContain("from-file");
      expect((await emit(srv.url, { event: "x", secret: "from-file" })).status).toBe(200);
      const missing = await runWsEmit(["--config", join(dir, "absent")], { bin });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("--config");
    });

    test("serves the page, takes emits and delivers over WebSocket", async () => {
      await using srv = await startWsEmit(["--cors", "http://localhost:7788", "--secret", "123"], { bin });
      const page = await fetch(`${srv.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("<title>ws-emit</title>");
      const c = await openWs(`${srv.wsUrl}/ws?room=time`, { headers: { Origin: "http://localhost:7788" } });
      await c.next();
      expect((await emit(srv.url, { event: "update", room: "time", data: { time: 111111 }, namespace: null, secret: "123" })).body.delivered).toBe(1);
      expect(await c.next()).toEqual({ type: "event", room: "time", event: "update", data: { time: 111111 } });
      c.close();
    });

    test("IPv6 address and the emit subcommand", async () => {
      await using srv = await startWsEmit(["--address", "[::1]:0", "--secret", "s3"], { bin });
      expect(srv.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      const c = await openWs(`${srv.wsUrl}/ws?room=jobs`);
      await c.next();
      const r = await runWsEmit(["emit", "progress", '{"pct":50}', "--room", "jobs", "--url", srv.url, "--secret", "s3"], { bin });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).delivered).toBe(1);
      expect(await c.next()).toEqual({ type: "event", room: "jobs", event: "progress", data: { pct: 50 } });
      // --except leaves out the members of a room: c is in "jobs" only, so it still gets it.
      const ex = await runWsEmit(["emit", "progress", "2", "--room", "jobs", "--except", "muted", "--url", srv.url, "--secret", "s3"], { bin });
      expect(JSON.parse(ex.stdout).delivered).toBe(1);
      expect(await c.next()).toEqual({ type: "event", room: "jobs", event: "progress", data: 2 });
      const bad = await runWsEmit(["emit", "progress", "--url", srv.url, "--secret", "wrong"], { bin });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("forbidden");
      c.close();
    });

    test("emit subcommand: bad input is exit 2 naming the argument, before any request", async () => {
      // Nothing listens on :1, so a request would fail with exit 1: exit 2 proves it was never sent.
      const cases: Array<[string[], string]> = [
        [["emit"], "EVENT is required"],
        [["emit", "update", "1", "--bogus", "x"], "unknown flag --bogus"],
        [["emit", "update", "1", "--url", "ftp://x"], "--url"],
        [["emit", "update", "1", "--room", "a b"], "--room"],
        [["emit", "update", "1", "--except", "a b"], "--except"],
        [["emit", "update", "1", "--room"], "--room needs a value"],
        [["emit", "update", "1", "extra"], "unexpected argument"],
        [["emit", "connect", "1"], 'EVENT "connect": "connect" is reserved'],
        [["emit", "e".repeat(201)], "longer than 200 characters"],
      ];
      for (const [args, msg] of cases) {
        const r = await runWsEmit([...args, ...(args.includes("--url") ? [] : ["--url", "http://127.0.0.1:1"])], { bin });
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toContain(msg);
        expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
      }
      // A negative number is DATA, not a flag.
      const neg = await runWsEmit(["emit", "n", "-1", "--url", "http://127.0.0.1:1"], { bin });
      expect(neg.code).toBe(1);
      expect(neg.stderr).toContain("cannot reach");
    });

    test("an unknown command is exit 2 naming it and the commands there are", async () => {
      const r = await runWsEmit(["srve"], { bin });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('unknown command "srve"');
      expect(r.stderr).toContain("emit");
    });

    test("a busy port is a clear error", async () => {
      await using first = await startWsEmit([], { bin });
      const r = await runWsEmit(["--address", new URL(first.url).host], { bin });
      expect(r.code).toBe(1);
      expect(r.stderr + r.stdout).toContain("cannot listen");
    });
  });
}
