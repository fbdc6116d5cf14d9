/**
 * Serves the browser client (src/client/dist, embedded in the binary): /client.js (ESM),
 * /client.min.js (window.WsEmit), and its documentation at /docs/client.md (linked from the page).
 */
import type { Adapter } from "../server/adapter.ts";
import { methodNotAllowed } from "../server/http.ts";
import esm from "../client/dist/client.js" with { type: "text" };
import min from "../client/dist/client.min.js" with { type: "text" };
import docs from "../../docs/client.md" with { type: "text" };

const JS = "text/javascript; charset=utf-8";
const FILES: Record<string, [string, string]> = {
  "/client.js": [esm, JS],
  "/client.min.js": [min, JS],
  "/docs/client.md": [docs, "text/markdown; charset=utf-8"],
};

/** The adapter serving these files (null for every other path). */
export const clientAdapter: Adapter = {
  name: "client",
  start: () => ({ handle: (req, url) => clientFile(req, url) }),
};

function clientFile(req: Request, url: URL): Response | null {
  const file = FILES[url.pathname];
  if (file === undefined) return null;
  const [body, type] = file;
  if (req.method !== "GET" && req.method !== "HEAD") methodNotAllowed("GET");
  return new Response(req.method === "HEAD" ? null : body, {
    headers: {
      "Content-Type": type,
      // Same bytes for the life of this binary; a short cache keeps upgrades visible.
      "Cache-Control": "public, max-age=300",
      // A page on another origin may load it as a module (modules are fetched with CORS).
      "Access-Control-Allow-Origin": "*",
    },
  });
}
