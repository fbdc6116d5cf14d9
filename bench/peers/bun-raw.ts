/**
 * bun-raw: the ceiling for ws-emit's stack. A bare Bun.serve with server.publish and no
 * features (no auth, limits, heartbeat, metrics or protocols): /ws?room=r subscribes to topic r,
 * POST /emit takes one emit object or a JSON array of them and publishes the native frame.
 * Run: bun bench/peers/bun-raw.ts [port]; prints "listening on http://127.0.0.1:PORT".
 * DEFLATE=1: accept permessage-deflate and publish compressed (bench/scale-deflate.ts).
 */
const DEFLATE = process.env.DEFLATE === "1";
type Emit = { event: string; room?: string; data?: unknown };

const server = Bun.serve<{ room: string | null }>({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  development: false,
  async fetch(req, srv) {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      if (srv.upgrade(req, { data: { room: url.searchParams.get("room") } })) return undefined;
      return new Response("expected a WebSocket upgrade", { status: 400 });
    }
    if (url.pathname === "/emit" && req.method === "POST") {
      const body = (await req.json()) as Emit | Emit[];
      const list = Array.isArray(body) ? body : [body];
      for (const e of list) {
        const room = e.room ?? "*";
        srv.publish(room, JSON.stringify({ type: "event", room: e.room, event: e.event, data: e.data }), DEFLATE);
      }
      return Response.json({ ok: true });
    }
    return new Response("not found", { status: 404 });
  },
  websocket: {
    perMessageDeflate: DEFLATE,
    open(ws) {
      ws.subscribe("*");
      const room = ws.data.room;
      if (room) ws.subscribe(room);
      ws.send(JSON.stringify({ type: "joined", room }));
    },
    message() {},
  },
});
console.log(`listening on http://127.0.0.1:${server.port}`);
