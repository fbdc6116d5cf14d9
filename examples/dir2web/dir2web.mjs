#!/usr/bin/env node
// dir2web: show a directory in the browser, live. New, changed and deleted files appear at once;
// an opened file's content follows its changes. Rooms live in the private roomspace "dir":
//   dir::list         the file list (event "list")
//   dir::<file name>  one file's content (event "content")
// The roomspace secret is stored where ws-emit reads it, in Redis under ws-emit::secret::dir (the
// original wrote ws-emit::room_secret::dir, which ws-emit never read), and handed to the page.
//   node examples/dir2web/dir2web.mjs /tmp/ws-emit
// Env: WS_EMIT_URL (http://localhost:8899), REDIS (redis://localhost:6379/0; ws-emit must use the
// same), SECRET (ws-emit's --secret, for POST /emit), PORT (7788), HOST (localhost).
import { createServer } from "node:http";
import { readdirSync, readFileSync, statSync, watch } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Redis from "ioredis";

const dir = process.argv[2];
if (!dir || !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
  console.error("usage: dir2web.mjs DIRECTORY");
  process.exit(2);
}
const wsEmit = process.env.WS_EMIT_URL ?? "http://localhost:8899";
const MAX_SHOWN = 64 * 1024; // a file's content is sent up to this many bytes

// A fresh secret each run, stored for ws-emit and given to the page.
const roomSecret = randomBytes(16).toString("hex");
const redis = new Redis(process.env.REDIS ?? "redis://localhost:6379/0");
redis.on("error", (e) => console.error(`redis: ${e.message}`));
await redis.set("ws-emit::secret::dir", roomSecret);

const files = () => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
function content(name) {
  try {
    const buf = readFileSync(join(dir, name));
    return buf.subarray(0, MAX_SHOWN).toString("utf8") + (buf.length > MAX_SHOWN ? `\n… (${buf.length} bytes)` : "");
  } catch {
    return null; // deleted
  }
}

async function emit(event, room, data) {
  const secret = process.env.SECRET;
  const res = await fetch(`${wsEmit}/emit`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(secret ? { Authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ event, room, data }),
  });
  if (!res.ok) console.error(`emit ${event} to ${room}: HTTP ${res.status} ${await res.text()}`);
}

// Editors write a file in several steps: coalesce the events of one moment per name.
const pending = new Set();
let timer = null;
watch(dir, (_type, name) => {
  if (name) pending.add(String(name));
  timer ??= setTimeout(flush, 50);
});
async function flush() {
  timer = null;
  const names = [...pending];
  pending.clear();
  try {
    await emit("list", "dir::list", files());
    for (const n of names) await emit("content", `dir::${n}`, { name: n, text: content(n) });
  } catch (e) {
    console.error(`emit failed: ${e.message}`);
  }
}

const page = readFileSync(new URL("index.html", import.meta.url), "utf8");
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/files") return sendJson(res, files());
  if (url.pathname === "/file") {
    const name = url.searchParams.get("name") ?? "";
    // Only names of files directly in the directory: no paths.
    if (!files().includes(name)) return sendJson(res, { error: "not_found" }, 404);
    return sendJson(res, { name, text: content(name) });
  }
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(page.replaceAll("%WS_EMIT_URL%", wsEmit).replaceAll("%SECRET%", roomSecret));
});
function sendJson(res, v, status = 200) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(v));
}
server.listen(Number(process.env.PORT ?? 7788), process.env.HOST ?? "localhost", () => {
  console.log(`watching ${dir}; page: http://${process.env.HOST ?? "localhost"}:${server.address().port}/`);
});
