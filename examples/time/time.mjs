#!/usr/bin/env node
// The `time` example from Node: POST /emit the Unix time to room "time" every second, and serve
// a page (client.html) that shows it with the ws-emit client library. No dependencies.
//   node examples/time/time.mjs        (ws-emit at WS_EMIT_URL, default http://localhost:8899)
// PORT (default 7788, the origin ws-emit allows by default) and HOST serve the page; SECRET if ws-emit has --secret.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";

const wsEmit = process.env.WS_EMIT_URL ?? "http://localhost:8899";
const secret = process.env.SECRET;
const page = readFileSync(new URL("client.html", import.meta.url), "utf8").replaceAll("%WS_EMIT_URL%", wsEmit);

async function emitTime() {
  const res = await fetch(`${wsEmit}/emit`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(secret ? { Authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ event: "update", room: "time", data: { time: Math.floor(Date.now() / 1000) } }),
  });
  if (!res.ok) console.error(`emit: HTTP ${res.status} ${await res.text()}`);
}

const server = createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(page);
});
const host = process.env.HOST ?? "localhost";
server.listen(Number(process.env.PORT ?? 7788), host, () => {
  console.log(`page: http://${host}:${server.address().port}/`);
  setInterval(() => emitTime().catch((e) => console.error(`emit: ${e.message}`)), 1000);
});
