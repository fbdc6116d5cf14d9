#!/usr/bin/env node
// Long-running jobs with live progress, the ws-emit way (the blog post's idea, seeds/004):
// every job has its own private room jobs::<id>, and the page that started it gets a signed
// token for that room only, so nobody else sees its progress (the blog used one channel, 666,
// for everyone). The page joins, then starts the job; progress arrives as events.
//   ws-emit --roomspace-secret jobs=$JOBS_SECRET &
//   JOBS_SECRET=… node examples/progress/jobs.mjs        # then http://localhost:7788/
// Env: JOBS_SECRET (required: the "jobs" roomspace secret, also given to ws-emit), WS_EMIT_URL
// (http://localhost:8899), SECRET (ws-emit's --secret), PORT (7788), HOST (localhost),
// STEP_MS (1000, the time each step takes).
import { createHmac, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";

const wsEmit = process.env.WS_EMIT_URL ?? "http://localhost:8899";
const jobsSecret = process.env.JOBS_SECRET;
if (!jobsSecret) {
  console.error("set JOBS_SECRET (and run ws-emit with --roomspace-secret jobs=<the same>)");
  process.exit(2);
}
const STEP_MS = Number(process.env.STEP_MS ?? 1000);
const STEPS = ["connecting to the device", "reading its configuration", "pushing the change", "verifying", "saving"];

/** A ws-emit join token (see `ws-emit token`): base64url(payload).base64url(HMAC-SHA256(secret, that text)). */
function token(rooms, ttlSeconds = 600) {
  const part = Buffer.from(JSON.stringify({ rooms, exp: Math.floor(Date.now() / 1000) + ttlSeconds })).toString("base64url");
  return `${part}.${createHmac("sha256", jobsSecret).update(part).digest("base64url")}`;
}

async function emit(event, room, data) {
  const secret = process.env.SECRET;
  const res = await fetch(`${wsEmit}/emit`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(secret ? { Authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ event, room, data }),
  });
  if (!res.ok) console.error(`emit ${event}: HTTP ${res.status} ${await res.text()}`);
}

const jobs = new Map(); // id -> "created" | "running" | "done"
async function run(id) {
  const room = `jobs::${id}`;
  for (let i = 0; i < STEPS.length; i++) {
    await emit("progress", room, { pct: Math.round((i / STEPS.length) * 100), step: STEPS[i] });
    await new Promise((r) => setTimeout(r, STEP_MS));
  }
  await emit("done", room, { pct: 100, result: "ok" });
  jobs.set(id, "done");
}

const page = readFileSync(new URL("index.html", import.meta.url), "utf8").replaceAll("%WS_EMIT_URL%", wsEmit);
const server = createServer((req, res) => {
  const send = (status, v) => (res.writeHead(status, { "Content-Type": "application/json" }), res.end(JSON.stringify(v)));
  if (req.method === "POST" && req.url === "/jobs") {
    const id = randomUUID();
    jobs.set(id, "created");
    return send(201, { id, room: `jobs::${id}`, token: token([`jobs::${id}`]) });
  }
  const start = /^\/jobs\/([0-9a-f-]{36})\/start$/.exec(req.url ?? "");
  if (req.method === "POST" && start) {
    if (jobs.get(start[1]) !== "created") return send(409, { error: "not_startable" });
    jobs.set(start[1], "running");
    run(start[1]).catch((e) => console.error(`job ${start[1]}: ${e.message}`));
    return send(202, { id: start[1] });
  }
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(page);
});
const host = process.env.HOST ?? "localhost";
server.listen(Number(process.env.PORT ?? 7788), host, () => console.log(`page: http://${host}:${server.address().port}/`));
