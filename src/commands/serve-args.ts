import type { ArgsDef } from "citty";
import { SETTINGS } from "../core/config.ts";

/** citty arg definitions for every setting. No defaults here: defaults live in config.ts. */
export const serveArgs: ArgsDef = {
  config: { type: "string", description: 'file of KEY="value" lines, as /etc/default/ws-emit', valueHint: "FILE" },
  ...Object.fromEntries(
    SETTINGS.map((s) => [s.flag, { type: "string" as const, description: s.help, ...(s.flag === "address" ? { alias: "a" } : {}) }]),
  ),
};
