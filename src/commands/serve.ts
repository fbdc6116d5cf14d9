import { defineCommand } from "citty";
import { createAdapters } from "../adapters.ts";
import { workerLinkFromEnv } from "../protocols/socketio/worker-forward.ts";
import { addHistory } from "../engine/history-setup.ts";
import { createIngestDelivery } from "../ingest/ingest-claim.ts";
import type { EmitMessage, IngestSource } from "../core/message.ts";
import { createHub } from "../core/hub.ts";
import { createLogger } from "../ops/log.ts";
import { createMetrics } from "../ops/metrics.ts";
import { createBoundary } from "../ops/boundary.ts";
import { startServer, type RunningServer } from "../server/index.ts";
import { drain } from "../ops/drain.ts";
import { VERSION } from "../core/version.ts";
import { loadConfigOrExit } from "./load-config.ts";
import { setupEngine } from "./engine-setup.ts";
import { serveArgs } from "./serve-args.ts";
import { isWorker, reportListening, superviseWorkers, workerNumber } from "./workers.ts";
import { writePidFile } from "../ops/pid-file.ts";
import { startPresence } from "../engine/occupancy-setup.ts";
import { roomsAdapter } from "../ops/rooms-http.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the server (the default command)." },
  args: serveArgs,
  async run({ rawArgs }) {
    const config = loadConfigOrExit(rawArgs);
    const log = createLogger(config.logLevel, config.logFormat, workerNumber());
    if (config.pidFile && !isWorker()) {
      const w = writePidFile(config.pidFile);
      if (!w.ok) (log.error(w.error), process.exit(1));
    }
    if (config.workers !== 1 && !isWorker()) return superviseWorkers(config, log);
    const metrics = createMetrics();
    // The one error boundary of this process (HTTP, WebSocket and Redis message handlers; see ops/boundary.ts).
    const boundary = createBoundary(log, metrics);
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
    // Under --workers, polling requests for another worker's session are passed to that worker.
    const link = isWorker() ? workerLinkFromEnv(log) : null;
    const adapters = createAdapters(config, link);
    for (const a of adapters) for (const f of a.formats ?? []) hub.addFormat(f);
    // Redis-channel emits go through ingest-claim (history positions, idempotency): set once the engine exists.
    let deliverIngest: (msg: EmitMessage, source: IngestSource) => number = (m) => hub.deliver(m);
    // Memory, Redis, or standalone until the default Redis appears (./engine-setup.ts).
    const setup = await setupEngine({ config, hub, log, metrics, boundary, worker: isWorker(), deliver: (m, source) => deliverIngest(m, source) });
    const redisIngest = setup.ingest;
    // History and idempotency around the engine (docs/history.md). A node that started standalone
    // (the default Redis absent) keeps them in memory, even after it switches to Redis.
    const engine = addHistory(setup.engine, setup.engine.kind === "memory" ? { ...config, redis: null } : config, log, metrics);
    deliverIngest = createIngestDelivery(hub, engine, log);
    // presence (issue 15): occupancy counts, presence, lifecycle webhooks; GET /rooms… (the same rule: standalone keeps them in memory).
    const presence = startPresence({ config: setup.engine.kind === "memory" ? { ...config, redis: null } : config, hub, engine, log, metrics });
    // Its /rooms… endpoints go before ops (the last adapter, the page and health checks).
    adapters.splice(adapters.length - 1, 0, roomsAdapter(presence.route));

    try {
      running = startServer({ config, log, hub, engine, metrics, adapters, boundary });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Listen errors carry a code (EADDRINUSE, EACCES); TLS and --metrics-address problems do not.
      if (code) log.error(`cannot listen on ${config.host}:${config.port} (${code}): ${(e as Error).message}`);
      else log.error(`cannot start: ${(e as Error).message}`);
      process.exit(1);
    }
    const r = running;
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
          const ingest = redisIngest();
          if (ingest) await Promise.race([ingest.close(), Bun.sleep(3000)]);
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
