import { describe, expect, test } from "bun:test";
import { crossSiteRefusal, isLoopbackName, localClientRefusal } from "../../src/auth/cross-site.ts";
import { clientAddress, forwardedRefusal, isIpv6, isLoopbackIp, parseIp } from "../../src/auth/forwarded.ts";

const H = (o: Record<string, string>) => new Headers(o);

describe("strict addresses", () => {
  test.each([
    ["127.0.0.1", "127.0.0.1"],
    ["127.0.0.1:8080", "127.0.0.1"],
    ['"[::1]:5555"', "::1"],
    ["[2001:DB8::1]", "2001:db8::1"],
    ["::ffff:127.0.0.1", "::ffff:127.0.0.1"],
    ["2001:db8::1", "2001:db8::1"],
  ])("%s → %s", (raw, ip) => expect(parseIp(raw)).toBe(ip));
  test.each([["127.evil.example"], ["localhost"], ["unknown"], ["_hidden"], ["127.0.0.01"], ["256.1.1.1"], ["1.2.3"], ["::1::"], ["[::1"], ["1.2.3.4:99999"], ["fe80::1%eth0"], [""]])("%s is not an address", (raw) =>
    expect(parseIp(raw)).toBeNull(),
  );
  test("IPv6 forms", () => {
    for (const ok of ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "::ffff:1.2.3.4"]) expect({ ok, v: isIpv6(ok) }).toEqual({ ok, v: true });
    for (const bad of ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", ":1", "1:2:3:4:5:6:7:1.2.3.4", "g::1"]) expect({ bad, v: isIpv6(bad) }).toEqual({ bad, v: false });
  });
  test("loopback", () => {
    for (const l of ["127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1"]) expect({ l, v: isLoopbackIp(l) }).toEqual({ l, v: true });
    for (const n of ["128.0.0.1", "::2", "::ffff:10.0.0.1", "127.evil.example", "1::1", "", "::127.0.0.1x"]) expect({ n, v: isLoopbackIp(n) }).toEqual({ n, v: false });
  });
});

describe("forwarded headers", () => {
  test("a forged loopback hop does not hide a real client named elsewhere", () => {
    expect(forwardedRefusal(H({ "X-Forwarded-For": "127.0.0.1", "X-Real-IP": "203.0.113.5" }))).toContain("203.0.113.5");
    expect(forwardedRefusal(H({ "X-Forwarded-For": "127.0.0.1", Forwarded: "for=127.0.0.1, for=198.51.100.7;proto=https" }))).toContain("198.51.100.7");
    expect(forwardedRefusal(H({ "X-Forwarded-For": "203.0.113.5, 127.0.0.1" }))).toContain("203.0.113.5");
    expect(forwardedRefusal(H({ "X-Forwarded-For": "127.evil.example" }))).toContain("not an IP address");
    expect(forwardedRefusal(H({ Forwarded: "for=unknown" }))).toContain("not an IP address");
    expect(forwardedRefusal(H({ "X-Forwarded-For": Array(40).fill("127.0.0.1").join(",") }))).toContain("too long");
  });
  test("loopback-only chains pass", () => {
    expect(forwardedRefusal(H({}))).toBeNull();
    expect(forwardedRefusal(H({ "X-Forwarded-For": "127.0.0.1, ::1", "X-Real-IP": "127.0.0.2", Forwarded: 'for="[::1]:5555";proto=http' }))).toBeNull();
  });
  test("clientAddress believes forwarded headers only from a trusted proxy", () => {
    const h = H({ "X-Forwarded-For": "1.1.1.1, 203.0.113.5", "X-Real-IP": "198.51.100.1" });
    expect(clientAddress(h, "127.0.0.1", [])).toBe("127.0.0.1");
    expect(clientAddress(h, "127.0.0.1", ["loopback"])).toBe("203.0.113.5");
    expect(clientAddress(h, "10.0.0.9", ["loopback"])).toBe("10.0.0.9");
    expect(clientAddress(h, "10.0.0.9", ["10.0.0.9"])).toBe("203.0.113.5");
    expect(clientAddress(H({ "X-Real-IP": "198.51.100.1" }), "::1", ["loopback"])).toBe("198.51.100.1");
    expect(clientAddress(H({ "X-Forwarded-For": "evil" }), "::1", ["loopback"])).toBe("::1");
  });
});

describe("cross-site rule", () => {
  const port = 8899;
  const ok = (h: Record<string, string>, names: string[] = []) => expect({ h, r: crossSiteRefusal(H(h), names) }).toEqual({ h, r: null });
  const refused = (h: Record<string, string>, names: string[] = []) => expect(crossSiteRefusal(H(h), names)).toBeString();
  test("programs and the server's own page pass", () => {
    ok({});
    ok({ Host: `127.0.0.1:${port}` });
    ok({ Host: `localhost:${port}`, Origin: `http://localhost:${port}`, "Sec-Fetch-Site": "same-origin" });
    ok({ Host: `[::1]:${port}`, Referer: `http://[::1]:${port}/?room=x` });
    ok({ Host: "app.local:80", Origin: "http://app.local" }, ["app.local"]);
    ok({ Host: "127.0.0.1", "Sec-Fetch-Site": "none" });
  });
  test("pages of other sites, rebinding and odd values are refused", () => {
    refused({ Host: `127.0.0.1:${port}`, "Sec-Fetch-Site": "cross-site" });
    refused({ Host: `127.0.0.1:${port}`, "Sec-Fetch-Site": "same-site" });
    refused({ Host: `evil.example:${port}` });
    refused({ Host: `127.0.0.1.evil.example:${port}` });
    refused({ Host: `127.0.0.1:${port}`, Origin: "http://evil.example" });
    refused({ Host: `127.0.0.1:${port}`, Origin: "null" });
    refused({ Host: `127.0.0.1:${port}`, Origin: "http://localhost:7788" }); // another local origin
    refused({ Host: `127.0.0.1:${port}`, Referer: "https://evil.example/page" });
    refused({ Origin: `http://127.0.0.1:${port}` }); // a browser always sends Host
    refused({ Host: "a b" });
  });
  test("isLoopbackName and the whole local-client rule", () => {
    expect(isLoopbackName("LOCALHOST")).toBe(true);
    expect(isLoopbackName("x.localhost")).toBe(true);
    expect(isLoopbackName("127.0.0.1")).toBe(true);
    expect(isLoopbackName("[::1]")).toBe(true);
    expect(isLoopbackName("127.evil.example")).toBe(false);
    expect(localClientRefusal(H({}), "203.0.113.5", [])).toContain("another machine");
    expect(localClientRefusal(H({ "X-Forwarded-For": "203.0.113.5" }), "127.0.0.1", [])).toContain("proxy");
    expect(localClientRefusal(H({ Host: "localhost" }), "::ffff:127.0.0.1", [])).toBeNull();
  });
});
