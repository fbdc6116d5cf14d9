import { defineCommand } from "citty";
import { createMemoryEngine } from "../engine/memory.ts";
import type { Engine } from "../engine/types.ts";
import { createHub } from "../hub.ts";
import { createLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import { nativeFormat } from "../protocols/native.ts";
import { startServer, type RunningServer } from "../server.ts";
import { drain } from "../shutdown.ts";
import { VERSION } from "../version.ts";
import { loadConfigOrExit } from "./load-config.ts";
import { serveArgs } from "./serve-args.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the server (the default command)." },
  args: serveArgs,
  async run({ rawArgs }) {
    const config = loadConfigOrExit(rawArgs);
    const log = createLogger(config.logLevel, config.logFormat);
    const metrics = createMetrics();
    let running: RunningServer | undefined;
    const hub = createHub(
      () => running?.listeners,
      () => metrics.inc("ws_emit_drops_total", { reason: "backpressure" }),
      { onDeliver: (n) => metrics.inc("ws_emit_deliveries_total", undefined, n) },
    );
    hub.addFormat(nativeFormat);
    const engine: Engine = createMemoryEngine(hub, config.roomspaceSecrets);

    try {
      running = startServer({ config, log, hub, engine, metrics });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Listen errors carry a code (EADDRINUSE, EACCES); TLS and --metrics-address problems do not.
      if (code) log.error(`cannot listen on ${config.host}:${config.port} (${code}): ${(e as Error).message}`);
      else log.error(`cannot start: ${(e as Error).message}`);
      process.exit(1);
    }
    const r = running;
    log.info(`listening on ${r.url}`, {
      url: r.url,
      version: VERSION,
      engine: engine.kind,
      cors: config.cors,
      emit_auth: config.secret ? "secret" : "loopback only",
      ...(r.metricsUrl ? { metrics: r.metricsUrl } : {}),
    });
    if (r.metricsUrl) log.info(`metrics on ${r.metricsUrl}/metrics`);

    let stopping = false;
    const onSignal = (sig: string) => {
      if (stopping) {
        log.warn(`${sig} again: exiting now without waiting for the drain`);
        process.exit(1);
      }
      stopping = true;
      log.info(`${sig}: shutting down`);
      drain(r.ctx, config.drainMs, () => r.close())
        .then((d) => {
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
    await new Promise(() => {}); // run until a signal
  },
});
