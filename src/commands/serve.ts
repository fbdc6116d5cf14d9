import { defineCommand } from "citty";
import { createMemoryEngine } from "../engine/memory.ts";
import { createRedisEngine } from "../engine/redis.ts";
import type { Engine } from "../engine/types.ts";
import { createHub } from "../core/hub.ts";
import { createLogger } from "../ops/log.ts";
import { RAW_FORMATS, startRedisIngest } from "../ingest/redis-ingest.ts";
import { createMetrics } from "../ops/metrics.ts";
import { workerLinkFromEnv } from "../protocols/socketio/worker-forward.ts";
import { createSocketIo } from "../protocols/socketio/routes.ts";
import { nativeFormat } from "../protocols/native/codec.ts";
import { createSseEnvelopeFormat, createSseFormat } from "../protocols/sse/codec.ts";
import { createSseHistory } from "../protocols/sse/history.ts";
import { installSse, sseRoute } from "../protocols/sse/stream.ts";
import { sioFormat } from "../protocols/socketio/codec.ts";
import { webdisFormat } from "../protocols/compat/webdis/codec.ts";
import { wsifyFormat } from "../protocols/compat/wsify/codec.ts";
import { wspushFormat, wspushSseFormat } from "../protocols/compat/wspush/codec.ts";
import { startServer, type RunningServer } from "../server/index.ts";
import { drain } from "../ops/drain.ts";
import { VERSION } from "../core/version.ts";
import { loadConfigOrExit } from "./load-config.ts";
import { serveArgs } from "./serve-args.ts";
import { isWorker, reportListening, superviseWorkers } from "./workers.ts";
import { startPresence } from "../engine/occupancy-setup.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the server (the default command)." },
  args: serveArgs,
  async run({ rawArgs }) {
    const config = loadConfigOrExit(rawArgs);
    const log = createLogger(config.logLevel, config.logFormat);
    if (config.workers !== 1 && !isWorker()) return superviseWorkers(config, log);
    const metrics = createMetrics();
    let running: RunningServer | undefined;
    const deliveries = metrics.counter("ws_emit_deliveries_total");
    const hub = createHub(
      () => running?.listeners,
      () => metrics.inc("ws_emit_drops_total", { reason: "backpressure" }),
      {
        countDeliveries: (n) => deliveries.inc(n),
        // For emits with `except`: every WebSocket and the topics it holds.
        *wsTopics() {
          for (const ws of running?.ctx.sockets ?? []) yield [ws, ws.data.conn.topics] as const;
        },
      },
    );
    hub.addFormat(nativeFormat);
    hub.addFormat(sioFormat);
    // Under --workers, polling requests for another worker's session are passed to that worker.
    const link = isWorker() ? workerLinkFromEnv(log) : null;
    const socketIo = createSocketIo(link);
    // SSE resume: with --sse-history N every event gets an `id:` and the last N are kept.
    const sseHistory = config.sseHistory > 0 ? createSseHistory(config.sseHistory) : null;
    if (sseHistory) {
      hub.onDeliver((m) => sseHistory.record(m));
      log.info(`SSE resume: the last ${config.sseHistory} events are kept; event ids are ${sseHistory.tag}-<n>`);
    }
    const sseFormats = [createSseFormat(sseHistory?.idOf), createSseEnvelopeFormat(sseHistory?.idOf)];
    for (const f of sseFormats) hub.addFormat(f);
    hub.addFormat(wsifyFormat);
    hub.addFormat(webdisFormat);
    hub.addFormat(wspushFormat);
    hub.addFormat(wspushSseFormat);
    const engine: Engine = config.redis
      ? createRedisEngine({ url: config.redis, config, hub, log, metrics })
      : createMemoryEngine(hub, config.roomspaceSecrets);
    // presence (issue 15): occupancy counts, presence, lifecycle webhooks; GET /rooms…
    const presence = startPresence({ config, hub, engine, log, metrics });

    try {
      running = startServer({ config, log, hub, engine, metrics, routes: [socketIo.route, sseRoute, presence.route] }, (ctx) => {
        socketIo.attach(ctx);
        installSse(ctx, { history: sseHistory, formats: sseFormats });
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Listen errors carry a code (EADDRINUSE, EACCES); TLS and --metrics-address problems do not.
      if (code) log.error(`cannot listen on ${config.host}:${config.port} (${code}): ${(e as Error).message}`);
      else log.error(`cannot start: ${(e as Error).message}`);
      process.exit(1);
    }
    const r = running;
    if (link) {
      try {
        link.listen((req, url, srv) => socketIo.forwarded(req, url, srv), Math.max(config.sioMaxHttpBufferBytes, 64 * 1024) + 1024);
      } catch (e) {
        log.error(`cannot listen on the private worker socket ${link.socketPath}: ${(e as Error).message}`);
        process.exit(1);
      }
    }
    // What backends PUBLISH (Flask-SocketIO, JSON, socket.io emitter), delivered locally only.
    const ingest = config.redis ? startRedisIngest({ url: config.redis, config, log, metrics, deliver: (m) => hub.deliver(m) }) : null;
    if (ingest) {
      // wsify and webdis clients listen on plain Redis channels: subscribe while any local client does.
      const refs = new Map<string, number>();
      const watch = (room: string, active: boolean) => {
        const n = (refs.get(room) ?? 0) + (active ? 1 : -1);
        if (n <= 0) refs.delete(room);
        else refs.set(room, n);
        if (active && n === 1) ingest.subscribeRaw(room);
        if (!active && n <= 0) ingest.unsubscribeRaw(room);
      };
      for (const f of RAW_FORMATS) hub.watchRooms(f, watch);
    }

    let stopping = false;
    const onSignal = (sig: string) => {
      if (stopping) {
        log.warn(`${sig} again: exiting now without waiting for the drain`);
        process.exit(1);
      }
      stopping = true;
      log.info(`${sig}: shutting down`);
      drain(r.ctx, config.drainMs, () => r.close())
        .then(async (d) => {
          await presence.close(); // presence (issue 15): this node's counts leave the cluster totals now
          // The Redis ingest subscriber goes last, bounded in time like the engine.
          if (ingest) await Promise.race([ingest.close(), Bun.sleep(3000)]);
          link?.close();
          log.info(`stopped (${d.closed} connections closed${d.leftover ? `, ${d.leftover} cut off at the end of the grace period` : ""})`);
          process.exit(0);
        })
        .catch((e) => {
          log.error("drain failed", e);
          process.exit(1);
        });
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    // SIGHUP (systemctl reload): pick up a renewed TLS certificate. Without a handler it would kill us.
    process.on("SIGHUP", () => {
      const t = r.reloadTls();
      if (t.ok) log.info(`SIGHUP: ${t.message}`);
      else log.warn(`SIGHUP: ${t.message}`);
    });
    // Announced only now: whoever waits for this line (systemd, tests) may signal us at once,
    // and a signal that arrives before its handler is installed kills the process.
    if (isWorker()) reportListening(log, r.url, r.server.port!);
    else
      log.info(`listening on ${r.url}`, {
        url: r.url,
        version: VERSION,
        engine: engine.kind,
        cors: config.cors,
        emit_auth: config.secret ? "secret" : "loopback only",
        ...(r.metricsUrl ? { metrics: r.metricsUrl } : {}),
      });
    if (r.metricsUrl) log.info(`metrics on ${r.metricsUrl}/metrics`);
    await new Promise(() => {}); // run until a signal
  },
});
