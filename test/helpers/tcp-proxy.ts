/**
 * A tiny TCP proxy for browser tests: forwards to a target port that the test can switch (a
 * drain to a second server behind "the same address"), and can refuse WebSocket upgrades the
 * way a proxy without upgrade support does (400 to any request carrying `Upgrade: websocket`).
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface TcpProxy {
  url: string;
  port: number;
  /** Where new connections go. */
  target: number;
  blockUpgrades: boolean;
  /** Upgrade requests refused so far. */
  refused: number;
  /** While true, new connections are closed at once (the network is down). */
  down: boolean;
  /** Cut every open connection (a dropped network), without the server knowing first. */
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(target: number, opts: { blockUpgrades?: boolean } = {}): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    if (proxy.down) return void client.destroy();
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => client.destroy());
    client.once("data", (first: Buffer) => {
      // Browsers open a fresh connection for every WebSocket, so the first request tells.
      if (proxy.blockUpgrades && /\r\nupgrade:\s*websocket/i.test(first.toString("latin1"))) {
        proxy.refused++;
        client.end("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 24\r\nConnection: close\r\n\r\nupgrades are not allowed");
        return;
      }
      const up = createConnection({ host: "127.0.0.1", port: proxy.target });
      open.add(up);
      up.on("close", () => (open.delete(up), client.destroy()));
      up.on("error", () => client.destroy());
      client.on("close", () => up.destroy());
      up.write(first);
      client.pipe(up);
      up.pipe(client);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const proxy: TcpProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    target,
    blockUpgrades: !!opts.blockUpgrades,
    refused: 0,
    down: false,
    cut() {
      for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
  return proxy;
}

/** A port free right now, below the ephemeral range (a server that must come back on it). */
export { freePort } from "./redis.ts";
