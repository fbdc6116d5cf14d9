/**
 * contrib/nginx.conf and contrib/Caddyfile, run for real on loopback in front of ws-emit:
 * a WebSocket (with the built-in page's same-origin check, which needs the Host port kept)
 * and a streaming response (as SSE and Socket.IO polling use) must pass through unbuffered.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startWsEmit } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

const nginxBin = ["/usr/sbin/nginx", Bun.which("nginx")].find((p) => p && existsSync(p)) ?? null;
const caddyBin = Bun.which("caddy");
const haveOpenssl = Bun.which("openssl") !== null;

/**
 * A port the kernel just handed out (closed again for the proxy to bind). It may be one an
 * earlier proxy in this file used, so fetches here do not keep pooled connections.
 */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

/** Resolve when `file` exists (watching its directory: no polling). */
function waitForFile(file: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const dir = file.slice(0, file.lastIndexOf("/"));
    const w = watch(dir, () => existsSync(file) && done());
    const t = setTimeout(() => (w.close(), reject(new Error(`${file} did not appear`))), timeoutMs);
    const done = () => (clearTimeout(t), w.close(), resolve());
    if (existsSync(file)) done();
  });
}

/**
 * An upstream that streams: "one" at once, "two" only after the test says it saw "one".
 * A buffering proxy holds "one" back and the test times out.
 */
function streamingUpstream() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      const body = new ReadableStream({
        async start(c) {
          c.enqueue(new TextEncoder().encode("data: one\n\n"));
          await released;
          c.enqueue(new TextEncoder().encode("data: two\n\n"));
          c.close();
        },
      });
      return new Response(body, { headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" } });
    },
  });
  return { port: server.port!, release, close: () => server.stop(true) };
}

async function readUntil(res: Response, needle: string, onFirst?: () => void): Promise<string> {
  const reader = res.body!.getReader();
  let text = "";
  let told = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += new TextDecoder().decode(value);
    if (!told && text.includes("data: one")) {
      told = true;
      onFirst?.();
    }
    if (text.includes(needle)) {
      reader.cancel().catch(() => {});
      return text;
    }
  }
}

async function selfSigned(dir: string) {
  const p = Bun.spawn(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")], { stdout: "ignore", stderr: "pipe" });
  expect(await p.exited).toBe(0);
  return { cert: join(dir, "c.pem"), key: join(dir, "k.pem"), pem: readFileSync(join(dir, "c.pem"), "utf8") };
}

/** Run contrib/nginx.conf (TLS on a free loopback port) in front of `upstreamPort`. */
async function startNginx(upstreamPort: number, tls: { cert: string; key: string }) {
  const dir = mkdtempSync(join(tmpdir(), "ws-emit-nginx-"));
  const port = freePort();
  const site = readFileSync(join(ROOT, "contrib/nginx.conf"), "utf8")
    .replace(/^\s*listen \[::\]:443 ssl;\n/m, "")
    .replace(/listen 443 ssl;/, `listen 127.0.0.1:${port} ssl;`)
    .replace(/server 127\.0\.0\.1:8898;/, `server 127.0.0.1:${upstreamPort};`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${tls.cert};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${tls.key};`);
  expect(site).toContain(`server 127.0.0.1:${upstreamPort};`);
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`).join("\n  ");
  writeFileSync(join(dir, "nginx.conf"), `daemon off;\nmaster_process off;\nerror_log stderr warn;\npid ${dir}/nginx.pid;\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n  ${temps}\n${site}\n}\n`);
  const proc = Bun.spawn([nginxBin!, "-p", dir, "-e", "stderr", "-c", join(dir, "nginx.conf")], { stdout: "inherit", stderr: "inherit" });
  // nginx writes its pid file after binding the listening socket.
  await waitForFile(join(dir, "nginx.pid"));
  return { url: `https://127.0.0.1:${port}`, async stop() { proc.kill("SIGTERM"); await proc.exited; } };
}

/** Run contrib/Caddyfile (plain HTTP on a free loopback port, no admin API) in front of `upstreamPort`. */
async function startCaddy(upstreamPort: number) {
  const dir = mkdtempSync(join(tmpdir(), "ws-emit-caddy-"));
  const port = freePort();
  const site = readFileSync(join(ROOT, "contrib/Caddyfile"), "utf8")
    .replace(/^ws\.example\.com \{/m, `http://127.0.0.1:${port} {`)
    .replace(/reverse_proxy 127\.0\.0\.1:8898/, `reverse_proxy 127.0.0.1:${upstreamPort}`);
  expect(site).toContain(`reverse_proxy 127.0.0.1:${upstreamPort}`);
  writeFileSync(join(dir, "Caddyfile"), `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${dir}/data\n}\n${site}`);
  const proc = Bun.spawn([caddyBin!, "run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdout: "ignore",
    stderr: "pipe",
  });
  // Caddy logs "serving initial configuration" once its listeners are up. Its stderr is read to
  // the end: cancelling the pipe would kill Caddy (SIGPIPE) at its next log line.
  let log = "";
  const dec = new TextDecoder();
  let markReady!: () => void;
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    (async () => {
      for await (const chunk of proc.stderr) {
        log += dec.decode(chunk);
        if (log.includes("serving initial configuration")) markReady();
      }
      rej(new Error(`caddy exited: ${log}`));
    })().catch(rej);
  });
  await ready;
  return { url: `http://127.0.0.1:${port}`, log: () => log, async stop() { proc.kill("SIGTERM"); await proc.exited; } };
}

describe.skipIf(!nginxBin || !haveOpenssl)("contrib/nginx.conf in front of ws-emit (needs nginx, openssl)", () => {
  test("WebSocket upgrade with the page's own Origin, emit through the proxy, unbuffered stream", async () => {
    const tls = await selfSigned(mkdtempSync(join(tmpdir(), "ws-emit-nginx-tls-")));
    await using srv = await startWsEmit([]);
    const nginx = await startNginx(Number(new URL(srv.url).port), tls);
    try {
      const wsUrl = nginx.url.replace("https", "wss");
      // The built-in page connects from its own origin: ws-emit accepts it when Host keeps the port.
      const ws = await openWs(`${wsUrl}/ws?room=p`, { headers: { Origin: nginx.url }, tls: { ca: tls.pem } } as never);
      expect(await ws.next((m) => m.type === "joined")).toEqual({ type: "joined", room: "p" });
      const e = await fetch(`${nginx.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ event: "via", room: "p", data: 1 }), tls: { ca: tls.pem }, keepalive: false });
      expect(await e.json()).toMatchObject({ ok: true, delivered: 1 });
      expect(await ws.next((m) => m.type === "event")).toEqual({ type: "event", room: "p", event: "via", data: 1 });
      ws.close();
    } finally {
      await nginx.stop();
    }

    const up = streamingUpstream();
    const nginx2 = await startNginx(up.port, tls);
    try {
      const res = await fetch(`${nginx2.url}/events`, { headers: { Accept: "text/event-stream" }, tls: { ca: tls.pem }, keepalive: false });
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const text = await readUntil(res, "data: two", up.release);
      expect(text).toBe("data: one\n\ndata: two\n\n");
    } finally {
      await nginx2.stop();
      up.close();
    }
  }, 20_000);
});

describe.skipIf(!caddyBin)("contrib/Caddyfile in front of ws-emit (needs caddy)", () => {
  test("WebSocket upgrade with the page's own Origin and an unbuffered stream", async () => {
    await using srv = await startWsEmit([]);
    const caddy = await startCaddy(Number(new URL(srv.url).port));
    try {
      const ws = await openWs(`${caddy.url.replace("http", "ws")}/ws?room=c`, { headers: { Origin: caddy.url } });
      expect(await ws.next((m) => m.type === "joined")).toEqual({ type: "joined", room: "c" });
      const e = await fetch(`${caddy.url}/emit`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ event: "via", room: "c" }), keepalive: false });
      expect(await e.json()).toMatchObject({ ok: true, delivered: 1 });
      expect(await ws.next((m) => m.type === "event")).toEqual({ type: "event", room: "c", event: "via" });
      ws.close();
    } finally {
      await caddy.stop();
    }
    const up = streamingUpstream();
    const caddy2 = await startCaddy(up.port);
    try {
      const res = await fetch(`${caddy2.url}/events`, { headers: { Accept: "text/event-stream" }, keepalive: false });
      expect(await readUntil(res, "data: two", up.release)).toBe("data: one\n\ndata: two\n\n");
    } finally {
      await caddy2.stop();
      up.close();
    }
  }, 20_000);
});
