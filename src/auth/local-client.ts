/** Where no secret is configured: refuse (403) anything that is not a program on this machine (see cross-site.ts). */
import { hostname } from "node:os";
import type { Config } from "../core/config.ts";
import { HttpError } from "../core/errors.ts";
import { localClientRefusal } from "./cross-site.ts";

const namesOf = new WeakMap<Config, string[]>();

/** Host names meaning this machine besides loopback ones: the listen address (unless a wildcard) and the machine's name. */
export function localNames(config: Config): string[] {
  let n = namesOf.get(config);
  if (!n) {
    n = [hostname()];
    if (config.host !== "0.0.0.0" && config.host !== "::" && config.host !== "") n.push(config.host);
    namesOf.set(config, n);
  }
  return n;
}

/** Why `req` (from `peer`) is not a local client, or null. */
export function localRefusal(config: Config, req: Request, peer: string): string | null {
  return localClientRefusal(req.headers, peer, localNames(config), config.tlsCert !== null);
}

/**
 * Throw 403 `forbidden` unless the request comes from a program on this machine. `what` says
 * what needs the secret, e.g. "no --secret is configured, so only clients on this machine may emit".
 */
export function requireLocalClient(config: Config, req: Request, peer: string, what: string): void {
  const why = localRefusal(config, req, peer);
  if (why !== null) throw new HttpError(403, "forbidden", `${what}; refused because ${why}`);
}
