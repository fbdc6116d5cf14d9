/** The pure parts of the Redis engine: URL parsing, fan-out codec, shard choice, secret cache, settings. */
import { describe, expect, test } from "bun:test";
import { resolveConfig } from "../../src/core/config.ts";
import { decodeFanout, encodeCanary, encodeEmit } from "../../src/engine/fanout-codec.ts";
import { parseRedisTarget, redact } from "../../src/core/redis-url.ts";
import { createSecretCache } from "../../src/engine/secret-cache.ts";
import { groupRooms, hashKey, shardChannels, shardOf, singleChannel, splitByShard } from "../../src/engine/shards.ts";

describe("parseRedisTarget", () => {
  test("one server", () => {
    expect(parseRedisTarget("redis://localhost:6379/0")).toEqual({ ok: true, value: { kind: "single", url: "redis://localhost:6379/0" } });
    expect(parseRedisTarget("rediss://:pw@h:6380")).toMatchObject({ ok: true, value: { kind: "single" } });
  });
  test("cluster: nodes, credentials, TLS", () => {
    expect(parseRedisTarget("redis+cluster://10.0.0.1:7000,10.0.0.2:7001")).toEqual({
      ok: true,
      value: { kind: "cluster", nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }], username: undefined, password: undefined, tls: false },
    });
    expect(parseRedisTarget("rediss+cluster://app:p%40ss@[::1]:7000/")).toEqual({
      ok: true,
      value: { kind: "cluster", nodes: [{ host: "::1", port: 7000 }], username: "app", password: "p@ss", tls: true },
    });
    expect(parseRedisTarget("redis+cluster://:only@h:1")).toMatchObject({ ok: true, value: { password: "only", username: undefined } });
  });
  test("errors say what is wrong and never echo a password", () => {
    for (const bad of ["redis+cluster://h", "redis+cluster://h:1,,h:2", "redis+cluster://h:1/3", "redis+cluster://h:99999", "http://h:1", "nope", "redis://"]) {
      const r = parseRedisTarget(bad);
      expect(r.ok).toBe(false);
    }
    const r = parseRedisTarget("http://user:SECRETPW@h:1");
    expect(!r.ok && r.error).not.toContain("SECRETPW");
    expect(redact("redis://u:SECRETPW@h:1/0")).toBe("redis://u:***@h:1/0");
    expect(redact("redis+cluster://:pw@a:1,b:2")).toBe("redis+cluster://:***@a:1,b:2");
  });
  test("--redis takes cluster URLs and rejects bad ones naming the flag", () => {
    const ok = resolveConfig({ flags: { redis: ["redis+cluster://a:1,b:2"] }, env: {}, file: null });
    expect(ok.ok && ok.config.redis).toBe("redis+cluster://a:1,b:2");
    const bad = resolveConfig({ flags: { redis: ["redis+cluster://a"] }, env: {}, file: null });
    expect(!bad.ok && bad.issues[0]).toStartWith("--redis: ");
  });
});

describe("fan-out codec", () => {
  const msg = { event: "update", args: [{ time: 1 }, "x"], namespace: "/", rooms: ["a", "b::c"] };
  test("emit and canary round-trip", () => {
    expect(decodeFanout(encodeEmit("n1", msg))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg } });
    expect(decodeFanout(encodeEmit("n1", { ...msg, rooms: null, args: [] }))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg: { ...msg, rooms: null, args: [] } } });
    const raw = { ...msg, raw: "verbatim", only: ["wsify", "webdis"] };
    expect(decodeFanout(encodeEmit("n1", raw))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg: raw } });
    expect(decodeFanout(encodeEmit("n1", { ...msg, raw: "v" }))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg: { ...msg, raw: "v" } } });
    expect(decodeFanout(encodeEmit("n1", { ...msg, only: ["n"] }))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg: { ...msg, only: ["n"] } } });
    expect(decodeFanout(encodeCanary("n2", 7))).toEqual({ ok: true, value: { kind: "canary", node: "n2", seq: 7 } });
  });
  test("a part of a split multi-room emit carries its skipRooms, with or without raw/only", () => {
    for (const m of [{ ...msg, skipRooms: ["x", "y"] }, { ...msg, raw: "v", skipRooms: ["x"] }, { ...msg, raw: "v", only: ["wsify"], skipRooms: ["x"] }])
      expect(decodeFanout(encodeEmit("n1", m))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg: m } });
    expect(encodeEmit("n", { ...msg, skipRooms: ["x"] })).toBe('["e","n","update","/",["a","b::c"],[{"time":1},"x"],null,null,["x"]]');
  });
  test("an emit with bytes carries Socket.IO's form and the bytes (base64 on the wire)", () => {
    const m = { ...msg, args: ["AP8="], binary: { args: [{ _placeholder: true, num: 0 }], buffers: [new Uint8Array([0, 255])] } };
    const nested = { ...msg, args: [{ img: "AAH/", n: 1, l: ["AP8=", 2] }], binary: { args: [{ img: { _placeholder: true, num: 1 }, n: 1, l: [{ _placeholder: true, num: 0 }, 2] }], buffers: [new Uint8Array([0, 255]), new Uint8Array([0, 1, 255])] } };
    for (const x of [m, nested, { ...m, skipRooms: ["x"] }, { ...m, raw: "v", only: ["sio"] }])
      expect(decodeFanout(encodeEmit("n1", x))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg: x } });
    const wire = JSON.parse(encodeEmit("n1", m));
    expect(wire.slice(6)).toEqual([null, null, null, { bin: [[{ _placeholder: true, num: 0 }], ["AP8="]] }]);
    expect(decodeFanout(JSON.stringify([...wire.slice(0, 9), { bin: [[], [1]] }]))).toEqual({ ok: false, error: "malformed emit binary" });
    expect(decodeFanout(JSON.stringify([...wire.slice(0, 9), [1]]))).toEqual({ ok: false, error: "malformed emit extras" });
  });
  test("except rooms travel too", () => {
    for (const x of [{ ...msg, except: ["banned"] }, { ...msg, rooms: null, except: ["a", "b"], skipRooms: ["s"] }])
      expect(decodeFanout(encodeEmit("n1", x))).toEqual({ ok: true, value: { kind: "emit", node: "n1", msg: x } });
    expect(decodeFanout(JSON.stringify(["e", "n", "x", "/", null, [], null, null, null, { except: [1] }]))).toEqual({ ok: false, error: "malformed emit except" });
  });
  test("compact: a small emit costs little more than its JSON payload", () => {
    const wire = encodeEmit("0123456789ab", { event: "update", args: [{ time: 1639178370 }], namespace: "/", rooms: ["time"] });
    expect(wire).toBe('["e","0123456789ab","update","/",["time"],[{"time":1639178370}]]');
  });
  test("anything else is an error, never a throw", () => {
    for (const bad of ["", "{", "{}", "[]", '["e","n"]', '["e","n","ev","/",[1],[]]', '["e","n","ev","/",null,{}]', '["c","n","1"]', '["x","n"]', '["e","n","ev","/",null,[],1]', '["e","n","ev","/",null,[],null,"n"]', '["e","n","ev","/",null,[],null,[],9]', "null", '"str"'])
      expect(decodeFanout(bad).ok).toBe(false);
  });
});

describe("shards", () => {
  test("channel names carry a hash tag (one slot each) and the prefix", () => {
    expect(singleChannel("ws-emit")).toBe("ws-emit:fanout");
    expect(shardChannels("p", 3)).toEqual(["{p:fanout:0}", "{p:fanout:1}", "{p:fanout:2}"]);
  });
  test("a room always maps to the same shard; rooms spread over shards", () => {
    expect(hashKey("abc")).toBe(hashKey("abc"));
    expect(shardOf("/", "time", 16)).toBe(shardOf("/", "time", 16));
    const used = new Set(Array.from({ length: 200 }, (_, i) => shardOf("/", `room-${i}`, 16)));
    expect(used.size).toBe(16);
    // The namespace is part of the room's identity.
    const differs = Array.from({ length: 50 }, (_, i) => shardOf("/", `r${i}`, 16) !== shardOf("/chat", `r${i}`, 16));
    expect(differs.some(Boolean)).toBe(true);
  });
  test("groupRooms keeps every room once, grouped by its shard", () => {
    const rooms = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const g = groupRooms("/", rooms, 4);
    expect([...g.values()].flat().sort()).toEqual([...rooms].sort());
    for (const [k, list] of g) for (const r of list) expect(shardOf("/", r, 4)).toBe(k);
  });
  test("splitByShard: one part per shard; each later part skips the rooms of the parts before it", () => {
    const rooms = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const msg = { event: "e", args: [], namespace: "/", rooms };
    const parts = splitByShard(msg, rooms, 4);
    expect(parts.length).toBe(4);
    const seen: string[] = [];
    for (const [k, part] of parts) {
      for (const r of part.rooms!) expect(shardOf("/", r, 4)).toBe(k);
      expect(part.skipRooms ?? []).toEqual(seen);
      seen.push(...part.rooms!);
    }
    expect(seen.sort()).toEqual([...rooms].sort());
    // One shard: the message itself, untouched.
    const one = splitByShard({ ...msg, rooms: ["r1"] }, ["r1"], 4);
    expect(one).toEqual([[shardOf("/", "r1", 4), { ...msg, rooms: ["r1"] }]]);
  });
});

describe("secret cache", () => {
  function setup(ttlMs = 1000) {
    let t = 0;
    const calls: string[] = [];
    const store = new Map<string, string>([["dir", "S"]]);
    let fail = false;
    const gate: Array<() => void> = [];
    let hold = false;
    const cache = createSecretCache(
      async (name) => {
        calls.push(name);
        if (hold) await new Promise<void>((r) => gate.push(r));
        if (fail) throw new Error("down");
        return store.get(name) ?? null;
      },
      { ttlMs, now: () => t, maxEntries: 3 },
    );
    return { cache, calls, store, tick: (ms: number) => (t += ms), setFail: (f: boolean) => (fail = f), setHold: (h: boolean) => (hold = h), release: () => gate.splice(0).forEach((r) => r()) };
  }
  test("positive and negative answers are cached for the TTL", async () => {
    const s = setup();
    expect(await s.cache.get("dir")).toBe("S");
    expect(await s.cache.get("nokey")).toBeNull();
    s.store.set("dir", "S2");
    s.store.set("nokey", "N");
    s.tick(999);
    expect(await s.cache.get("dir")).toBe("S");
    expect(await s.cache.get("nokey")).toBeNull();
    expect(s.calls).toEqual(["dir", "nokey"]);
    s.tick(1);
    expect(await s.cache.get("dir")).toBe("S2");
    expect(await s.cache.get("nokey")).toBe("N");
  });
  test("concurrent lookups share one request", async () => {
    const s = setup();
    s.setHold(true);
    const all = Promise.all(Array.from({ length: 100 }, () => s.cache.get("dir")));
    await Promise.resolve();
    s.release();
    expect(await all).toEqual(Array(100).fill("S"));
    expect(s.calls).toEqual(["dir"]);
  });
  test("failures are not cached", async () => {
    const s = setup();
    s.setFail(true);
    await expect(s.cache.get("dir")).rejects.toThrow("down");
    s.setFail(false);
    expect(await s.cache.get("dir")).toBe("S");
  });
  test("invalidate drops the entry, and a lookup racing with it is not cached", async () => {
    const s = setup();
    expect(await s.cache.get("dir")).toBe("S");
    s.store.set("dir", "S2");
    s.cache.invalidate("dir");
    expect(await s.cache.get("dir")).toBe("S2");
    s.setHold(true);
    const racing = s.cache.get("dir");
    s.cache.invalidate("dir");
    s.release();
    await racing;
    s.setHold(false);
    s.store.set("dir", "S3");
    expect(await s.cache.get("dir")).toBe("S3");
  });
  test("bounded: the oldest entry goes first; TTL 0 caches nothing", async () => {
    const s = setup();
    for (const n of ["a", "b", "c", "d"]) await s.cache.get(n);
    expect(s.cache.size).toBe(3);
    const z = setup(0);
    await z.cache.get("dir");
    await z.cache.get("dir");
    expect(z.calls).toEqual(["dir", "dir"]);
  });
});

describe("Redis settings", () => {
  test("defaults and flags", () => {
    const d = resolveConfig({ flags: {}, env: {}, file: null });
    if (!d.ok) throw new Error(d.issues.join());
    expect([d.config.redisCanaryMs, d.config.redisCanaryTimeoutMs, d.config.secretCacheMs, d.config.redisTimeoutMs, d.config.redisPartitions]).toEqual([3000, 2000, 2000, 2000, 64]);
    const r = resolveConfig({ flags: { "redis-canary": ["5s"], "secret-cache": ["0"], "redis-partitions": ["128"] }, env: { WS_EMIT_REDIS_TIMEOUT: "500ms" }, file: null });
    if (!r.ok) throw new Error(r.issues.join());
    expect([r.config.redisCanaryMs, r.config.secretCacheMs, r.config.redisPartitions, r.config.redisTimeoutMs]).toEqual([5000, 0, 128, 500]);
    const bad = resolveConfig({ flags: { "redis-partitions": ["0"], "redis-canary": ["10ms"] }, env: {}, file: null });
    expect(!bad.ok && bad.issues.length).toBe(2);
  });
});

describe("singleNodeUrl", () => {
  test("one server as is; a cluster's first node with credentials and TLS", async () => {
    const { singleNodeUrl } = await import("../../src/core/redis-url.ts");
    expect(singleNodeUrl("redis://h:1/2")).toBe("redis://h:1/2");
    expect(singleNodeUrl("redis+cluster://a:1,b:2")).toBe("redis://a:1");
    expect(singleNodeUrl("rediss+cluster://u:p%40w@[::1]:7000")).toBe("rediss://u:p%40w@[::1]:7000");
    expect(singleNodeUrl("redis+cluster://:pw@a:1")).toBe("redis://:pw@a:1");
  });
});
