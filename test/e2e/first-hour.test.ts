/**
 * The first hour of a new user, through the real CLI and server: mistyped settings are named
 * with the closest right one, error floods are capped, sources are named in words, the emit
 * subcommand speaks CLI, and a refused Origin leaves a line in the log.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedis } from "../helpers/redis.ts";
import { runWsEmit, startWsEmit } from "../helpers/server.ts";

const dir = mkdtempSync(join(tmpdir(), "ws-emit-first-hour-"));
const errLines = (s: string) => s.trim().split("\n").filter(Boolean);

describe("configuration mistakes", () => {
  test("unknown config-file keys are errors with line numbers and the closest key", async () => {
    const f = join(dir, "typo.conf");
    writeFileSync(f, 'ADDRESS="127.0.0.1:0"\nADRESS="127.0.0.1:8899"\n# comment\nMAX_ROOMS=5\nFROBNICATE=1\n');
    const r = await runWsEmit(["--config", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:2: unknown key ADRESS (did you mean ADDRESS?)`);
    expect(r.stderr).toContain(`${f}:4: unknown key MAX_ROOMS (did you mean WS_EMIT_MAX_ROOMS?)`);
    expect(r.stderr).toContain(`${f}:5: unknown key FROBNICATE\n`);
  });

  test("unknown WS_EMIT_* variables are errors; other variables are not ours", async () => {
    const r = await runWsEmit(["--address", "127.0.0.1:0"], { env: { WS_EMIT_MAX_ROOM: "5", MAX_ROOM: "5" } });
    expect(r.code).toBe(2);
    expect(errLines(r.stderr)).toEqual([
      "ws-emit: unknown environment variable WS_EMIT_MAX_ROOM (did you mean WS_EMIT_MAX_ROOMS?)",
      "ws-emit: invalid configuration, see ws-emit --help",
    ]);
  });

  test("a mistyped flag gets the closest flag", async () => {
    const r = await runWsEmit(["--adress", "127.0.0.1:0", "--max-room", "3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag --adress (did you mean --address?)");
    expect(r.stderr).toContain("unknown flag --max-room (did you mean --max-rooms?)");
  });

  test("--config README.md prints ten errors and a count, not one per line", async () => {
    const r = await runWsEmit(["--config", "README.md"]);
    expect(r.code).toBe(2);
    const lines = errLines(r.stderr);
    expect(lines.length).toBe(12);
    expect(lines[10]).toMatch(/^ws-emit: … and \d+ more$/);
  });

  test("WS_EMIT_CONFIG pointing nowhere names WS_EMIT_CONFIG and says no such file", async () => {
    const r = await runWsEmit([], { env: { WS_EMIT_CONFIG: "/missing" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ws-emit: WS_EMIT_CONFIG: cannot read /missing: no such file\n");
    expect(r.stderr).not.toContain("ENOENT");
    const f = await runWsEmit(["--config", "/missing"]);
    expect(f.stderr).toContain("ws-emit: --config: cannot read /missing: no such file\n");
  });

  test("a Redis database index out of range is an error naming --redis", async () => {
    const r = await runWsEmit(["--redis", "redis://localhost:6379/99"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--redis: "redis://localhost:6379/99": database index 99 is out of range: Redis has databases 0-15');
    const bad = await runWsEmit(["--redis", "redis://localhost:6379/db1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("the path must be a database index 0-15");
  });

  test("--cluster takes a short name only", async () => {
    const r = await runWsEmit(["--cluster", "a b"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--cluster: expected 1-64 letters, digits, ".", "_" or "-", got "a b"');
  });
});

describe("the emit subcommand speaks CLI", () => {
  test("without a secret: pass --secret or set SECRET; with a wrong one: wrong secret", async () => {
    await using srv = await startWsEmit(["--address", "127.0.0.1:0", "--secret", "s3", "--redis", "none"]);
    const none = await runWsEmit(["emit", "x", "1", "--url", srv.url]);
    expect(none.code).toBe(1);
    expect(errLines(none.stderr)).toEqual(["ws-emit emit: forbidden: missing secret: pass --secret or set SECRET (or WS_EMIT_SECRET)"]);
    const wrong = await runWsEmit(["emit", "x", "1", "--url", srv.url], { env: { SECRET: "nope" } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("wrong secret");
    const ok = await runWsEmit(["emit", "x", "1", "--url", srv.url], { env: { SECRET: "s3" } });
    expect(ok.code).toBe(0);
    // Nothing listens on port 1: the message says what to check, not an errno.
    const nowhere = await runWsEmit(["emit", "x", "1", "--url", "http://127.0.0.1:1"]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe("ws-emit emit: cannot reach http://127.0.0.1:1: nothing listens there: is ws-emit running, and is --url (or WS_EMIT_URL) its address?\n");
  });
});

describe("a refused Origin is logged", () => {
  test("with the origin, the --cors list and the localhost/127.0.0.1 hint, once per burst", async () => {
    await using srv = await startWsEmit(["--address", "127.0.0.1:0", "--redis", "none", "--cors", "http://localhost:7788"]);
    const refusedSse = () => fetch(`${srv.url}/sse?room=a`, { headers: { Origin: "http://127.0.0.1:7788", Accept: "text/event-stream" } });
    const first = await refusedSse();
    expect(first.status).toBe(403);
    const line = await srv.waitForLine(/refused a browser connection/);
    expect(line).toContain("origin http://127.0.0.1:7788: not in --cors (http://localhost:7788)");
    expect(line).toContain("localhost, 127.0.0.1 and [::1] are different origins");
    for (let i = 0; i < 5; i++) expect((await refusedSse()).status).toBe(403);
    // An unrelated origin still gets its own line, without the loopback hint; the burst above got none.
    const other = await fetch(`${srv.url}/sse?room=a`, { headers: { Origin: "https://evil.example", Accept: "text/event-stream" } });
    expect(other.status).toBe(403);
    const second = await srv.waitForLine(/origin https:\/\/evil\.example/);
    expect(second).toContain("add it to --cors if that page is yours");
    expect(srv.lines.filter((l) => l.includes("refused a browser connection")).length).toBe(2);
  });
});

describe("--help", () => {
  const fits = (text: string) => {
    for (const line of text.split("\n")) {
      expect(line.length).toBeLessThanOrEqual(100);
      expect(line).toBe(line.trimEnd());
    }
  };
  test("top level: commands and the common flags only, with defaults and environment names", async () => {
    const r = await runWsEmit(["--help"]);
    expect(r.code).toBe(0);
    fits(r.stdout);
    for (const s of ["ws-emit emit EVENT [DATA]", "install-service", "--address", "--cors", "--secret", "--redis", "--cluster", "--config", "default 0.0.0.0:8899 · env ADDRESS, WS_EMIT_ADDRESS", "ws-emit serve --help lists all"])
      expect(r.stdout).toContain(s);
    expect(r.stdout).not.toContain("--wspush-prefix");
    expect(r.stdout.split("\n").length).toBeLessThan(40);
  });
  test("serve --help: every flag, grouped, each with its default and environment", async () => {
    const r = await runWsEmit(["serve", "--help"]);
    expect(r.code).toBe(0);
    fits(r.stdout);
    for (const g of ["Listening and browsers:", "Redis and clusters:", "Limits:", "Socket.IO and SSE:", "wsify and wspush compatibility:", "Process and logs:"]) expect(r.stdout).toContain(`\n${g}\n`);
    expect(r.stdout).toContain("default 20/s,burst=40 · env WS_EMIT_MAX_CONNECTION_RATE");
    expect(r.stdout).toContain("default 64k · env WS_EMIT_MAX_MESSAGE");
    const flags = [...r.stdout.matchAll(/^ {2}(?:-a, )?--([a-z-]+)/gm)].map((m) => m[1]);
    expect(flags.length).toBeGreaterThan(45);
    expect(new Set(flags).size).toBe(flags.length);
    // Flags before --help still get serve's help.
    expect((await runWsEmit(["--address", "x", "--help"])).stdout).toBe(r.stdout);
  });
  test("subcommands fit too; a mistyped command gets the closest one", async () => {
    for (const c of ["emit", "token", "install-service"]) {
      const r = await runWsEmit([c, "--help"]);
      expect(r.code).toBe(0);
      fits(r.stdout);
      expect(r.stdout).toContain(`Usage: ws-emit ${c}`);
    }
    const typo = await runWsEmit(["emitt", "x"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "emitt" (did you mean emit?');
  });
});

describe("a Redis without that database", () => {
  test("SELECT refused at run time: an error naming --redis and exit 2, not database 0", { timeout: 20_000 }, async () => {
    await using redis = await startRedis(["--databases", "4"]);
    const r = await runWsEmit(["--address", "127.0.0.1:0", "--redis", `${redis.url}/9`]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('--redis: that Redis has no database 9 (ERR DB index is out of range; its "databases" setting allows fewer)');
  });
});
