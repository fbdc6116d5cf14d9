/** Small HTTP helpers shared by the routes. */
import { isLoopbackIp } from "../auth/forwarded.ts";
import { HttpError } from "../core/errors.ts";
import { clip, quote } from "../core/bounds.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

/** Read a request body as text, refusing more than `limit` bytes (413) whatever Content-Length says. */
export async function readBody(req: Request, limit: number): Promise<string> {
  const b = await readBytes(req, limit);
  // Checked and decoded in one pass; not silently turned into U+FFFD (a sender with a broken
  // encoding hears of it), and a leading BOM is kept (req.text() drops it; JSON.parse refuses it).
  try {
    return strictUtf8.decode(b);
  } catch {
    throw new HttpError(400, "bad_request", "body is not valid UTF-8");
  }
}

/**
 * The request body, at most `limit` bytes, else HttpError 413 (JSON). Without a Content-Length
 * (chunked) it is read as a stream and refused after `limit` bytes.
 */
export async function readBytes(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > limit) throw new HttpError(413, "payload_too_large", `body is larger than ${limit} bytes`);
  // Content-Length known (and within the limit): Bun's parser reads exactly that many bytes, so
  // take them in one piece; touching req.body would build a ReadableStream (most of an emit's CPU).
  if (declared >= 0) return declared === 0 ? new Uint8Array(0) : new Uint8Array(await req.arrayBuffer());
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw new HttpError(413, "payload_too_large", `body is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** application/json and any +json type, with or without parameters (charset). */
export function requireJson(req: Request): void {
  const raw = req.headers.get("content-type");
  if (raw === "application/json") return; // what nearly every client sends: no string work
  const ct = (raw ?? "").split(";")[0]!.trim().toLowerCase();
  if (ct === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(ct)) return;
  throw new HttpError(415, "unsupported_media_type", `send the body as JSON with "Content-Type: application/json" (got ${ct ? quote(ct) : "none"})`);
}

export async function readJson(req: Request, limit: number): Promise<unknown> {
  requireJson(req);
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch (e) {
    // The parser's message quotes the offending token: cut, it is the client's text.
    throw new HttpError(400, "invalid_json", `body is not valid JSON: ${clip((e as Error).message, 200)}`);
  }
}

/** A peer address (as Bun reports it) on this machine: 127.0.0.0/8, ::1, ::ffff:127.x (strictly parsed). */
export function isLoopback(ip: string | undefined): boolean {
  return isLoopbackIp(ip);
}

const LOOPBACK_HOST = /^(localhost|[^/]*\.localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

/**
 * The request names this machine in its Host header (localhost, 127.x, [::1]). A browser page
 * that reached us by DNS rebinding sends its own host name, and a same-origin GET carries no
 * Origin, so this is what tells such a page from a local client on read-only endpoints.
 */
export function namesLoopbackHost(req: Request): boolean {
  return LOOPBACK_HOST.test(req.headers.get("host") ?? "");
}

/** A percent-encoded path segment; bad encoding (`%E0%A4%A`) is a 400, not a URIError. */
export function decodePathPart(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, "bad_request", `bad percent-encoding in the ${what}`);
  }
}

export function methodNotAllowed(allow: string): never {
  throw new HttpError(405, "method_not_allowed", `use ${allow}`, { Allow: allow });
}
