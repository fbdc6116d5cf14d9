#!/usr/bin/env bun
/** ws-emit command line: `serve` (the default), `emit`, `install-service`. */
import { defineCommand, runMain } from "citty";
import { serveArgs } from "./commands/serve-args.ts";
import { VERSION } from "./version.ts";

const main = defineCommand({
  meta: { name: "ws-emit", version: VERSION, description: "Push events from any backend to browsers (WebSocket, Socket.IO, SSE)." },
  // Declared here too so citty knows these flags take values when no subcommand is named.
  args: serveArgs,
  default: "serve",
  subCommands: {
    serve: () => import("./commands/serve.ts").then((m) => m.default),
    emit: () => import("./commands/emit.ts").then((m) => m.default),
    "install-service": () => import("./commands/install-service.ts").then((m) => m.default),
  },
});

runMain(main);
