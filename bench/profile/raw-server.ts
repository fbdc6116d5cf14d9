/**
 * "bun-raw": the baseline ws-emit is measured against. A bare Bun.serve with pub/sub, doing
 * the least a push gateway must: /ws?room=R subscribes to R, POST /emit {event,room,data}
 * publishes one JSON frame to the room and answers with the delivery count. No auth, limits,
 * metrics or heartbeat. Prints "listening on http://127.0.0.1:PORT".
 */
interface Data {
  rooms: string[];
}
const server = Bun.serve<Data>({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  development: false,
  async fetch(req, srv) {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      if (srv.upgrade(req, { data: { rooms: url.searchParams.getAll("room") } })) return undefined;
      return new Response("expected a WebSocket upgrade", { status: 400 });
    }
    if (url.pathname === "/emit" && req.method === "POST") {
      const m = (await req.json()) as { event: string; room: string; data?: unknown };
      const frame = JSON.stringify({ type: "event", room: m.room, event: m.event, data: m.data });
      const n = srv.subscriberCount(m.room);
      if (n > 0) srv.publish(m.room, frame);
      return Response.json({ ok: true, delivered: n, rooms: [m.room] });
    }
    return new Response("not found", { status: 404 });
  },
  websocket: {
    maxPayloadLength: 64 * 1024,
    backpressureLimit: 1024 * 1024,
    closeOnBackpressureLimit: true,
    idleTimeout: 0,
    perMessageDeflate: false,
    open(ws) {
      for (const r of ws.data.rooms) ws.subscribe(r);
    },
    message() {},
  },
});
console.log(`listening on http://127.0.0.1:${server.port}`);
export {};
