/**
 * The occupancy tracker on a real hub with the one-node store: what joins and leaves on any
 * subscriber become (counts, members by sub across tabs, transitions, coalescing in a batch),
 * and the store's paging. Pure in-process: no sockets (SSE-style sinks stand in for clients).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHub } from "../../src/core/hub.ts";
import { createConn, joinRoom, leaveRoom, releaseConn, type Conn } from "../../src/core/connection.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import { createLogger } from "../../src/ops/log.ts";
import { createOccupancy, roomKeyOf, splitRoomKey, type Occupancy, type Transition } from "../../src/engine/occupancy.ts";
import { createMemoryOccupancyStore } from "../../src/engine/occupancy-memory.ts";
import type { EmitMessage } from "../../src/core/message.ts";

const LIMITS = { joinFailuresPerMinute: 10, badFramesPerMinute: 10 };
let occ: Occupancy | null = null;
afterEach(async () => {
  await occ?.close();
  occ = null;
});

function setup() {
  const hub = createHub(() => undefined);
  const queued: Transition[] = [];
  const notices: EmitMessage[] = [];
  const store = createMemoryOccupancyStore((t) => queued.push(...t));
  occ = createOccupancy({ hub, store, log: createLogger("silent", "pretty"), metrics: createMetrics(), presenceRoomspaces: ["doc"], notify: (m) => notices.push(m), livenessMs: 10_000 });
  const client = (sub: string | null) => {
    const conn = createConn("sse", "127.0.0.1", LIMITS);
    conn.sub = sub;
    const sink = { send() {} };
    return {
      conn,
      join: (room: string, ns = "/") => joinRoom(hub, conn, { sink }, "sse", ns, room, 100),
      leave: (room: string, ns = "/") => leaveRoom(hub, conn, { sink }, "sse", ns, room),
      close: () => releaseConn(hub, conn, { sink }),
    };
  };
  const summary = () => queued.splice(0).map((t) => (t.sub ? `${t.type} ${t.room} ${t.sub}` : `${t.type} ${t.room}`));
  return { occ: occ!, store, client, summary, notices };
}

describe("occupancy tracker (one node)", () => {
  test("counts per room, members by sub across tabs, one transition each", async () => {
    const { occ, client, summary, notices } = setup();
    const a1 = client("alice"), a2 = client("alice"), b = client("bob"), anon = client(null);
    a1.join("doc::x");
    await occ.flush();
    a2.join("doc::x");
    b.join("doc::x");
    anon.join("doc::x");
    anon.join("public");
    await occ.flush();
    expect(await occ.store.room("doc::x")).toEqual({ subscribers: 4, nodes: 1 });
    expect((await occ.store.members("doc::x", "0", 10)).items.sort()).toEqual(["alice", "bob"]);
    expect(summary().sort()).toEqual(["member_added doc::x alice", "member_added doc::x bob", "room_occupied doc::x", "room_occupied public"]);
    a1.close(); // alice still has a tab
    await occ.flush();
    expect(summary()).toEqual([]);
    a2.leave("doc::x");
    b.close();
    anon.close();
    await occ.flush();
    expect(summary().sort()).toEqual(["member_removed doc::x alice", "member_removed doc::x bob", "room_vacated doc::x", "room_vacated public"].sort());
    expect(await occ.store.room("doc::x")).toEqual({ subscribers: 0, nodes: 0 });
    expect(notices.map((n) => [n.event, n.rooms, n.args[0]])).toEqual([
      ["presence", ["doc::x"], { type: "join", sub: "alice" }],
      ["presence", ["doc::x"], { type: "join", sub: "bob" }],
      ["presence", ["doc::x"], { type: "leave", sub: "alice" }],
      ["presence", ["doc::x"], { type: "leave", sub: "bob" }],
    ]);
  });

  test("a leave takes out only what its join put in (the sub came after the first join)", async () => {
    const { occ, client, summary } = setup();
    const tab1 = client("carol");
    const tab2 = client(null);
    tab1.join("doc::w");
    tab2.join("doc::w"); // with the roomspace secret: not a member
    tab2.conn.sub = "carol"; // later joins another room with carol's token
    tab2.join("doc::v");
    await occ.flush();
    expect(summary().sort()).toEqual(["member_added doc::v carol", "member_added doc::w carol", "room_occupied doc::v", "room_occupied doc::w"]);
    tab2.close();
    await occ.flush();
    // carol is still in doc::w through tab1: only doc::v lost her.
    expect(summary().sort()).toEqual(["member_removed doc::v carol", "room_vacated doc::v"]);
    expect((await occ.store.members("doc::w", "0", 10)).items).toEqual(["carol"]);
  });

  test("a join and a leave within one batch cancel out; a repeated join counts once", async () => {
    const { occ, client, summary } = setup();
    const c = client("u");
    c.join("doc::y");
    c.join("doc::y");
    c.leave("doc::y");
    await occ.flush();
    expect(summary()).toEqual([]);
    expect(occ.local("doc::y")).toBe(0);
  });

  test("rooms outside presence roomspaces and namespaced rooms", async () => {
    const { occ, client, summary } = setup();
    const c = client("u");
    c.join("other::z");
    c.join("doc::z", "/admin");
    await occ.flush();
    const k = roomKeyOf("/admin", "doc::z");
    expect(summary()).toEqual(["room_occupied other::z", `room_occupied ${k}`, `member_added ${k} u`]);
    expect(occ.isPresenceRoom("other::z")).toBe(false);
    expect(splitRoomKey(roomKeyOf("/admin", "doc::z"))).toEqual({ ns: "/admin", room: "doc::z" });
    expect(splitRoomKey("plain")).toEqual({ ns: "/", room: "plain" });
    // A default-namespace room may look like a namespace: it stays one room.
    expect(splitRoomKey(roomKeyOf("/", "/a|b"))).toEqual({ ns: "/", room: "/a|b" });
  });

  test("paging: every occupied room with the prefix once, in pages", async () => {
    const { occ, client } = setup();
    const c = client(null);
    for (let i = 0; i < 7; i++) c.join(`p-${i}`);
    c.join("q");
    await occ.flush();
    const seen: string[] = [];
    let cursor = "0";
    do {
      const p = await occ.store.list("p-", cursor, 3);
      expect(p.items.length).toBeLessThanOrEqual(3);
      seen.push(...p.items.map((r) => r.room));
      cursor = p.cursor;
    } while (cursor !== "0");
    expect(seen).toEqual(["p-0", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]);
  });
});
