import type { Hub } from "../core/hub.ts";
import type { Engine } from "./types.ts";

/** Single-process engine: emits go straight to the hub; secrets live in memory. */
export function createMemoryEngine(hub: Hub, secrets: Map<string, string>): Engine {
  const store = new Map(secrets);
  return {
    kind: "memory",
    publish: async (msg) => ({ delivered: hub.deliver(msg), cluster: null }),
    roomspaceSecret: async (name) => store.get(name) ?? null,
    async setRoomspaceSecret(name, secret) {
      if (secret === null) store.delete(name);
      else store.set(name, secret);
    },
    ready: () => true,
    close: async () => {},
  };
}
