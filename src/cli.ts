#!/usr/bin/env bun
/** ws-emit command line: `serve` (the default), `emit`, `token`, `install-service`. */
import "./commands/no-color.ts";
import { defineCommand, runMain } from "citty";
import { closest } from "./core/suggest.ts";
import { commandHelp, serveHelp, topHelp, type SubcommandDef } from "./commands/help.ts";
import { serveArgs } from "./commands/serve-args.ts";
import { VERSION } from "./core/version.ts";

const subCommands = {
  serve: () => import("./commands/serve.ts").then((m) => m.default),
  emit: () => import("./commands/emit.ts").then((m) => m.default),
  token: () => import("./commands/token.ts").then((m) => m.default),
  "install-service": () => import("./commands/install-service.ts").then((m) => m.default),
};

const main = defineCommand({
  meta: { name: "ws-emit", version: VERSION, description: "Push events from any backend to browsers (WebSocket, Socket.IO, SSE)." },
  // Shown in the root --help: the flags of the default command.
  args: serveArgs,
  default: "serve",
  subCommands,
});

const argv = process.argv.slice(2);
const first = argv[0];
const wantsHelp = argv.some((a) => a === "--help" || a === "-h");
// Our own help for the top level and serve (grouped, defaults, environment names, 100 columns);
// the same layout from citty's definitions for the small subcommands.
const showUsage = async (cmd: unknown) => console.log(commandHelp((await cmd) as SubcommandDef));
if (wantsHelp && (first === "--help" || first === "-h")) {
  console.log(topHelp());
  process.exit(0);
}
if (wantsHelp && (first === "serve" || (first !== undefined && first.startsWith("-")))) {
  console.log(serveHelp());
  process.exit(0);
}
// `ws-emit --address … --secret …` (the original's way) runs `serve` directly, so a flag value
// is never mistaken for a command name and unknown flags are reported by serve itself.
if (first !== undefined && !first.startsWith("-") && !(first in subCommands)) {
  // citty would print the usage and exit 1: a typo is a usage error (exit 2), named.
  const near = closest(first, Object.keys(subCommands));
  process.stderr.write(`ws-emit: unknown command ${JSON.stringify(first.slice(0, 40))} (${near ? `did you mean ${near}? ` : ""}commands: ${Object.keys(subCommands).join(", ")}; see ws-emit --help)\n`);
  process.exit(2);
} else if (first !== undefined && first.startsWith("-") && !["--help", "-h", "--version", "-v"].includes(first)) {
  const serve = await subCommands.serve();
  runMain({ ...serve, meta: { name: "ws-emit", version: VERSION, description: "Run the server." } }, { rawArgs: argv, showUsage });
} else runMain(main, { showUsage });
