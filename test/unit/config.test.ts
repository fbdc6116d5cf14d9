import { describe, expect, test } from "bun:test";
import { parseAddress, parseEnvFile, resolveConfig } from "../../src/core/config.ts";

const none = { flags: {}, env: {}, file: null };

describe("resolveConfig", () => {
  test("defaults match the original ws-emit", () => {
    const r = resolveConfig(none);
    if (!r.ok) throw new Error(r.issues.join());
    expect(r.config.host).toBe("0.0.0.0");
    expect(r.config.port).toBe(8899);
    expect(r.config.cors).toEqual(["http://localhost:7788"]);
    expect(r.config.secret).toBeNull();
    expect(r.config.redis).toBe("redis://localhost:6379/0");
  });

  test("precedence: flags > env > file > defaults", () => {
    const file = { ADDRESS: "1.1.1.1:1", CORS: "http://file.example", SECRET: "from-file", LOG_LEVEL: "debug" };
    const env = { ADDRESS: "2.2.2.2:2", WS_EMIT_CORS: "http://env.example" };
    const flags = { address: ["3.3.3.3:3"] };
    const r = resolveConfig({ flags, env, file });
    if (!r.ok) throw new Error(r.issues.join());
    expect([r.config.host, r.config.port]).toEqual(["3.3.3.3", 3]);
    expect(r.config.cors).toEqual(["http://env.example"]);
    expect(r.config.secret).toBe("from-file");
    expect(r.config.logLevel).toBe("debug");
  });

  test("repeated and space-separated --cors", () => {
    const r = resolveConfig({ ...none, flags: { cors: ["http://a.example http://b.example", "https://c.example:8443"] } });
    if (!r.ok) throw new Error(r.issues.join());
    expect(r.config.cors).toEqual(["http://a.example", "http://b.example", "https://c.example:8443"]);
  });

  test("every bad value is reported at once, naming its source", () => {
    const r = resolveConfig({
      flags: { address: ["nowhere"], "max-rooms": ["lots"] },
      env: { CORS: "ftp://x.example", WS_EMIT_HEARTBEAT: "soon" },
      file: { LOG_LEVEL: "loud" },
      fileName: "/etc/default/ws-emit",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toHaveLength(5);
    expect(r.issues.join("\n")).toContain("--address");
    expect(r.issues.join("\n")).toContain("--max-rooms");
    expect(r.issues.join("\n")).toContain("environment variable CORS");
    expect(r.issues.join("\n")).toContain("environment variable WS_EMIT_HEARTBEAT");
    expect(r.issues.join("\n")).toContain("LOG_LEVEL in /etc/default/ws-emit");
  });

  test("roomspace secrets and their errors", () => {
    const r = resolveConfig({ ...none, flags: { "roomspace-secret": ["dir=abc", "img=x=y"] } });
    if (!r.ok) throw new Error(r.issues.join());
    expect([...r.config.roomspaceSecrets]).toEqual([["dir", "abc"], ["img", "x=y"]]);
    const bad = resolveConfig({ ...none, flags: { "roomspace-secret": ["dir"] } });
    expect(bad.ok).toBe(false);
  });

  test("secret values never appear in error messages", () => {
    const bad = resolveConfig({ ...none, flags: { "roomspace-secret": ["bad name=TOPSECRET"] } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.join()).not.toContain("TOPSECRET");
    // The name forgotten: the lone word is most likely the secret itself.
    const noName = resolveConfig({ ...none, flags: { "roomspace-secret": ["MySecret_123"] }, env: { WS_EMIT_ROOMSPACE_SECRETS: "dir=a OtherSecret" } });
    expect(noName.ok).toBe(false);
    if (!noName.ok) {
      expect(noName.issues.join()).toContain("NAME=SECRET");
      expect(noName.issues.join()).not.toContain("MySecret_123");
    }
    const envOnly = resolveConfig({ ...none, env: { WS_EMIT_ROOMSPACE_SECRETS: "dir=a OtherSecret" } });
    if (!envOnly.ok) expect(envOnly.issues.join()).not.toContain("OtherSecret");
    else throw new Error("accepted a roomspace secret without a name");
  });

  test("a bad --authorizer-url is reported without its password", () => {
    for (const url of ["ftp://user:pw-SECRET@x/", "http://user:pw-SECRET@[bad"]) {
      const bad = resolveConfig({ ...none, flags: { "authorizer-url": [url] } });
      expect(bad.ok).toBe(false);
      if (!bad.ok) {
        expect(bad.issues.join()).toContain("--authorizer-url");
        expect(bad.issues.join()).not.toContain("pw-SECRET");
      }
    }
  });

  test("--workers needs Redis; tls flags go together", () => {
    const r = resolveConfig({ ...none, flags: { workers: ["2"], "tls-cert": ["/x.pem"], redis: ["none"] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues).toHaveLength(2);
  });

  test("--redis none / off / empty: no Redis", () => {
    for (const v of ["none", "OFF", ""]) {
      const r = resolveConfig({ ...none, flags: { redis: [v] } });
      expect(r.ok && r.config.redis).toBeNull();
    }
    const env = resolveConfig({ ...none, env: { REDIS: "none" } });
    expect(env.ok && env.config.redis).toBeNull();
  });
});

describe("parseAddress", () => {
  test.each([
    ["0.0.0.0:8899", "0.0.0.0", 8899],
    ["127.0.0.1:0", "127.0.0.1", 0],
    ["[::1]:8899", "::1", 8899],
    [":9000", "0.0.0.0", 9000],
    ["9000", "0.0.0.0", 9000],
    ["localhost:80", "localhost", 80],
  ])("%s", (input, host, port) => {
    expect(parseAddress(input)).toEqual({ host, port });
  });
  test.each(["", "host", "1.2.3.4:99999", "::1:80", "a b:1"])("rejects %p", (input) => {
    expect(() => parseAddress(input)).toThrow();
  });
});

describe("parseEnvFile (the seed's /etc/default/ws-emit)", () => {
  test("KEY=\"value\" lines, comments, export, single quotes", () => {
    const r = parseEnvFile('# ws-emit\nADDRESS="127.0.0.1:8898"\nCORS="http://a.example http://b.example"\nexport SECRET=\'x y\'\nREDIS=redis://localhost:6379/0 # comment\n\n', "f");
    expect(r).toEqual({
      ok: true,
      values: { ADDRESS: "127.0.0.1:8898", CORS: "http://a.example http://b.example", SECRET: "x y", REDIS: "redis://localhost:6379/0" },
      lines: { ADDRESS: 2, CORS: 3, SECRET: 4, REDIS: 5 },
    });
  });
  test("bad lines are reported with their line number", () => {
    const r = parseEnvFile('ADDRESS="x\njust words\n', "cfg");
    expect(r).toEqual({ ok: false, issues: ["cfg:1: unterminated quote", 'cfg:2: expected KEY="value"'] });
  });
  test("a comment after a quoted value; escaped quotes; text after the closing quote is an error", () => {
    const ok = parseEnvFile('ADDRESS="127.0.0.1:8898"   # behind nginx\nSECRET="a\\"b # not a comment"\n', "f");
    expect(ok).toEqual({ ok: true, values: { ADDRESS: "127.0.0.1:8898", SECRET: 'a"b # not a comment' }, lines: { ADDRESS: 1, SECRET: 2 } });
    const bad = parseEnvFile('SECRET="s3cr"et-tail"\n', "f");
    expect(bad).toEqual({ ok: false, issues: [expect.stringContaining("f:1: unexpected text after the closing quote")] });
    expect(JSON.stringify(bad)).not.toContain("et-tail");
  });
});
