/** Small HTTP helpers shared by the routes. */
import { HttpError } from "./errors.ts";

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

/** Read a request body as text, refusing more than `limit` bytes (413) whatever Content-Length says. */
export async function readBody(req: Request, limit: number): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > limit) throw new HttpError(413, "payload_too_large", `body is larger than ${limit} bytes`);
  // Content-Length known (and within the limit): Bun's parser reads exactly that many bytes, so
  // take them in one piece; touching req.body would build a ReadableStream (most of an emit's CPU).
  // Decoded by Buffer, not req.text(): text() drops a leading BOM, which JSON.parse has always refused.
  if (declared >= 0) return declared === 0 ? "" : Buffer.from(await req.arrayBuffer()).toString("utf8");
  if (!req.body) return "";
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
  return Buffer.concat(chunks).toString("utf8");
}

/** application/json and any +json type, with or without parameters (charset). */
export function requireJson(req: Request): void {
  const raw = req.headers.get("content-type");
  if (raw === "application/json") return; // what nearly every client sends: no string work
  const ct = (raw ?? "").split(";")[0]!.trim().toLowerCase();
  if (ct === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(ct)) return;
  throw new HttpError(415, "unsupported_media_type", `send the body as JSON with "Content-Type: application/json" (got ${ct ? `"${ct}"` : "none"})`);
}

export async function readJson(req: Request, limit: number): Promise<unknown> {
  requireJson(req);
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "invalid_json", `body is not valid JSON: ${(e as Error).message}`);
  }
}

export function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false;
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.");
}

export function methodNotAllowed(allow: string): never {
  throw new HttpError(405, "method_not_allowed", `use ${allow}`, { Allow: allow });
}
