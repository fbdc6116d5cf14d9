import { defineCommand } from "citty";
import { createMemoryEngine } from "../engine/memory.ts";
import { createRedisEngine } from "../engine/redis.ts";
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
import { isWorker, reportListening, superviseWorkers } from "./workers.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the server (the default command)." },
  args: serveArgs,
  async run({ rawArgs }) {
    const config = loadConfigOrExit(rawArgs);
    const log = createLogger(config.logLevel, config.logFormat);
    if (config.workers !== 1 && !isWorker()) return superviseWorkers(config, log);
    const metrics = createMetrics();
    let running: RunningServer | undefined;
    const hub = createHub(
      () => running?.server,
      () => metrics.inc("ws_emit_drops_total", { reason: "backpressure" }),
    );
    hub.addFormat(nativeFormat);
    const engine: Engine = config.redis
      ? createRedisEngine({ url: config.redis, config, hub, log, metrics })
      : createMemoryEngine(hub, config.roomspaceSecrets);

    try {
      running = startServer({ config, log, hub, engine, metrics });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      log.error(`cannot listen on ${config.host}:${config.port}${code ? ` (${code})` : ""}: ${(e as Error).message}`);
      process.exit(1);
    }
    const r = running;
    if (isWorker()) reportListening(log, r.url, r.server.port!);
    else log.info(`listening on ${r.url}`, {
      url: r.url,
      version: VERSION,
      engine: engine.kind,
      cors: config.cors,
      emit_auth: config.secret ? "secret" : "loopback only",
    });

    let stopping = false;
    const onSignal = (sig: string) => {
      if (stopping) {
        log.warn(`${sig} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      log.info(`${sig}: shutting down`);
      drain(r.ctx, config.drainMs, () => r.close())
        .then(() => {
          log.info("stopped");
          process.exit(0);
        })
        .catch((e) => {
          log.error("drain failed", e);
          process.exit(1);
        });
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    await new Promise(() => {}); // run until a signal
  },
});
