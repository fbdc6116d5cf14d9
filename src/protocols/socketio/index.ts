/**
 * The Socket.IO adapter: Socket.IO v5 over Engine.IO v4 at /socket.io/ (long-polling and
 * WebSocket, with upgrade), and the client bundle at /socket.io/socket.io(.min).js.
 * Under --workers, polling requests for another worker's session go to that worker over the
 * private link (worker-forward.ts), which this adapter also serves.
 */
import type { Adapter } from "../../server/adapter.ts";
import { sioFormat } from "./codec.ts";
import { createSocketIo } from "./routes.ts";
import type { WorkerLink } from "./worker-forward.ts";

export function socketIoAdapter(link: WorkerLink | null): Adapter {
  return {
    name: "socketio",
    formats: [sioFormat],
    start(ctx) {
      const sio = createSocketIo(link);
      sio.attach(ctx);
      if (link) {
        try {
          link.listen((req, url, srv) => sio.forwarded(req, url, srv), Math.max(ctx.config.sioMaxHttpBufferBytes, 64 * 1024) + 1024);
        } catch (e) {
          throw new Error(`cannot listen on the private worker socket ${link.socketPath}: ${(e as Error).message}`);
        }
      }
      return {
        handle(req, url, peer) {
          const p = url.pathname;
          if (p !== "/socket.io" && !p.startsWith("/socket.io/")) return null;
          return sio.route(ctx, req, url, peer());
        },
        close: () => link?.close(),
      };
    },
  };
}
