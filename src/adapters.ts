/**
 * Everything the server answers, in the order it is asked: the HTTP ingest, ws-emit's own
 * protocols, the compatibility protocols, then ops. Adding a protocol is a folder under
 * src/protocols/ and one line here.
 */
import type { Config } from "./core/config.ts";
import { ingestAdapter } from "./ingest/routes.ts";
import { clientAdapter } from "./ops/client-route.ts";
import { opsAdapter } from "./ops/routes.ts";
import { webdisAdapter } from "./protocols/compat/webdis/index.ts";
import { wsifyAdapter } from "./protocols/compat/wsify/index.ts";
import { wspushAdapter } from "./protocols/compat/wspush/index.ts";
import { nativeAdapter } from "./protocols/native/index.ts";
import { socketIoAdapter } from "./protocols/socketio/index.ts";
import type { WorkerLink } from "./protocols/socketio/worker-forward.ts";
import { sseAdapter } from "./protocols/sse/index.ts";
import type { Adapter } from "./server/adapter.ts";

/** @param link set in a worker under --workers (Socket.IO polling sessions span workers through it). */
export function createAdapters(_config: Config, link: WorkerLink | null): Adapter[] {
  return [
    ingestAdapter,
    nativeAdapter,
    wsifyAdapter,
    webdisAdapter,
    // Before socketio and sse: it claims "/?token=…" upgrades and "/sse?token=<wspush token>".
    wspushAdapter,
    socketIoAdapter(link),
    sseAdapter,
    // The browser client library (/client.js, /client.min.js).
    clientAdapter,
    opsAdapter,
  ];
}
