#!/usr/bin/env node
// live-comments: the seed's social-network case. Readers of a post see "alice is writing…" while
// someone types a comment, and the comment appears the moment it is submitted. The browser
// talks to this backend (POST /typing, POST /comments); the backend emits to the post's room
// through ws-emit; the pages listen with the client library. No dependencies.
//   node examples/live-comments/comments.mjs          # then http://localhost:7788/?user=alice
// Env: WS_EMIT_URL (http://localhost:8899), SECRET (ws-emit's --secret), PORT (7788), HOST (localhost).
import { createServer } from "node:http";
import { readFileSync } from "node:fs";

const wsEmit = process.env.WS_EMIT_URL ?? "http://localhost:8899";
const ROOM = "post-1";
const MAX_BODY = 16 * 1024;
const MAX_COMMENTS = 100;
const comments = [];

async function emit(event, data) {
  const secret = process.env.SECRET;
  const res = await fetch(`${wsEmit}/emit`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(secret ? { Authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ event, room: ROOM, data }),
  });
  if (!res.ok) console.error(`emit ${event}: HTTP ${res.status} ${await res.text()}`);
}

/** The JSON body, at most MAX_BODY bytes, or null. */
async function body(req) {
  let n = 0;
  const chunks = [];
  for await (const c of req) {
    n += c.length;
    if (n > MAX_BODY) return null;
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return null;
  }
}
const text = (v, max) => (typeof v === "string" && v.trim() !== "" && v.length <= max ? v.trim() : null);

const page = readFileSync(new URL("index.html", import.meta.url), "utf8").replaceAll("%WS_EMIT_URL%", wsEmit);
const server = createServer(async (req, res) => {
  const send = (status, v) => (res.writeHead(status, { "Content-Type": "application/json" }), res.end(JSON.stringify(v)));
  if (req.url === "/comments" && req.method === "GET") return send(200, comments);
  if ((req.url === "/comments" || req.url === "/typing") && req.method === "POST") {
    const b = await body(req);
    const user = text(b?.user, 40);
    if (!user) return send(400, { error: "bad_request", message: "user: 1 to 40 characters" });
    if (req.url === "/typing") {
      emit("typing", { user }).catch((e) => console.error(e.message));
      return send(202, {});
    }
    const t = text(b?.text, 2000);
    if (!t) return send(400, { error: "bad_request", message: "text: 1 to 2000 characters" });
    const c = { user, text: t, at: Date.now() };
    comments.push(c);
    if (comments.length > MAX_COMMENTS) comments.shift();
    await emit("comment", c).catch((e) => console.error(e.message));
    return send(201, c);
  }
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(page);
});
const host = process.env.HOST ?? "localhost";
server.listen(Number(process.env.PORT ?? 7788), host, () => console.log(`page: http://${host}:${server.address().port}/?user=alice`));
