/**
 * The listening sockets. Normally one Bun server; during a TLS reload two for a while:
 * Bun's `server.reload()` ignores `tls` (oven-sh/bun#43815), so a renewed certificate is
 * served by binding a second server on the same address (SO_REUSEPORT), then telling the
 * old one to stop accepting. The old server keeps its open WebSockets and streams, so
 * nobody is disconnected; it is stopped for good once its last connection ends.
 * Every publish goes to every live server (Bun topics are per server).
 */
import type { Server } from "bun";
import type { WsData } from "../server/context.ts";
import type { Publisher } from "../core/hub.ts";

export interface Listeners extends Publisher {
  /** The server taking new connections. */
  current(): Server<WsData>;
  /** Servers that stopped accepting but still hold connections. */
  retiredCount(): number;
  /** Make `next` current; the previous one stops accepting and retires. */
  replace(next: Server<WsData>): void;
  /** Stop every server, closing whatever is still open. */
  close(): void;
}

export function createListeners(first: Server<WsData>): Listeners {
  let current = first;
  const retired = new Set<Server<WsData>>();
  // Retired servers are checked now and then; when empty they are stopped for good.
  const sweep = setInterval(() => {
    for (const s of retired) {
      if (s.pendingWebSockets === 0 && s.pendingRequests === 0) {
        s.stop(true);
        retired.delete(s);
      }
    }
  }, 2000);
  sweep.unref();

  return {
    current: () => current,
    retiredCount: () => retired.size,
    replace(next) {
      const old = current;
      current = next;
      retired.add(old);
      old.stop(false);
    },
    publish(topic, data, compress) {
      let n = current.publish(topic, data, compress);
      // A server without subscribers to the topic also answers 0, so while two servers are live
      // report the best result: a drop is then only counted when no server delivered.
      for (const s of retired) n = Math.max(n, s.publish(topic, data, compress));
      return n;
    },
    close() {
      clearInterval(sweep);
      for (const s of retired) s.stop(true);
      retired.clear();
      current.stop(true);
    },
  };
}
