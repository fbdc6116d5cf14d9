// socket.io peer: what a Node team would write. npm `socket.io` on Node, with POST /emit taking
// one emit object or a JSON array ({event, room, data}) and a `join` event that acks {ok:true}.
// Run: node bench/peers/socketio-server.mjs [port]; prints "listening on http://127.0.0.1:PORT".
import { createServer } from "node:http";
import { Server } from "socket.io";

const http = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/emit") {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      res.writeHead(400).end();
      return;
    }
    for (const e of Array.isArray(body) ? body : [body]) {
      if (e.room) io.to(e.room).emit(e.event, e.data);
      else io.emit(e.event, e.data);
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
  });
});
const io = new Server(http, { cors: { origin: "*" }, perMessageDeflate: false });
io.on("connection", (socket) => {
  socket.on("join", (msg, ack) => {
    if (msg && typeof msg.room === "string") socket.join(msg.room);
    if (typeof ack === "function") ack({ ok: true });
  });
});
http.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
