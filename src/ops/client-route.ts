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
interface File {
  body: string;
  type: string;
  /** Of the content: a browser revalidates (no-cache) and gets a 304 until the binary changes. */
  etag: string;
}
const file = (body: string, type: string): File => ({ body, type, etag: `"${Bun.hash(body).toString(36)}"` });
const FILES: Record<string, File> = {
  "/client.js": file(esm, JS),
  "/client.min.js": file(min, JS),
  "/docs/client.md": file(docs, "text/markdown; charset=utf-8"),
};

/** The adapter serving these files (null for every other path). */
export const clientAdapter: Adapter = {
  name: "client",
  start: () => ({ handle: (req, url) => clientFile(req, url) }),
};

function clientFile(req: Request, url: URL): Response | null {
  const f = FILES[url.pathname];
  if (f === undefined) return null;
  if (req.method !== "GET" && req.method !== "HEAD") methodNotAllowed("GET");
  const headers = {
    "Content-Type": f.type,
    ETag: f.etag,
    // Revalidated on every load: the page and the client it imports always match after an upgrade.
    "Cache-Control": "no-cache",
    // A page on another origin may load it as a module (modules are fetched with CORS).
    "Access-Control-Allow-Origin": "*",
  };
  if (req.headers.get("if-none-match") === f.etag) return new Response(null, { status: 304, headers });
  return new Response(req.method === "HEAD" ? null : f.body, { headers });
}
