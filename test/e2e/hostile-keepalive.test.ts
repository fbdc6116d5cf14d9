/**
 * A draining node ends its keep-alive connections when it stops listening. Every response it
 * sends meanwhile says `Connection: close` and the connection then ends, so a keep-alive client
 * (Node's agent) opens a new connection instead of reusing one the server is about to drop and
 * failing with "socket hang up". Compiled binary, raw TCP.
 */
import { expect, test } from "bun:test";
import { startWsEmit } from "../helpers/server.ts";
import { openWs } from "../helpers/ws.ts";

/** One keep-alive TCP connection: send a request, get the next response's head; `ended` when the server closes. */
async function keepAlive(url: string) {
  const { hostname, port } = new URL(url);
  let buf = "";
  let wake: (() => void) | null = null;
  let endedResolve!: () => void;
  const ended = new Promise<void>((r) => (endedResolve = r));
  const sock = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_s, d) {
        buf += d.toString();
        wake?.();
      },
      close() {
        endedResolve();
        wake?.();
      },
    },
  });
  return {
    ended,
    async request(path: string): Promise<string> {
      buf = "";
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      while (!/\r\n\r\n/.test(buf)) await new Promise<void>((r) => (wake = r));
      return buf.split("\r\n\r\n")[0]!;
    },
    close: () => sock.end(),
  };
}

test("while draining, responses say Connection: close and the server then ends the connection", async () => {
  await using srv = await startWsEmit(["--drain", "4s"], { bin: true });
  const conn = await keepAlive(srv.url);
  const before = await conn.request("/healthz");
  expect(before).toMatch(/^HTTP\/1\.1 200/);
  expect(before).not.toMatch(/^connection: close$/im);
  // Two WebSockets: the drain spreads their closes over the grace period, so it lasts a while.
  const clients = await Promise.all([openWs(`${srv.wsUrl}/ws`), openWs(`${srv.wsUrl}/ws`)]);
  srv.proc.kill("SIGTERM");
  await srv.waitForLine(/draining 2 WebSockets/);
  const during = await conn.request("/readyz");
  expect(during).toMatch(/^HTTP\/1\.1 503/);
  expect(during).toMatch(/^connection: close$/im);
  await conn.ended;
  for (const c of clients) await c.closed;
  expect(await srv.proc.exited).toBe(0);
});
