/**
 * Engine.IO HTTP long-polling for an open session:
 *   GET  ?EIO=4&transport=polling&sid=…  waits until packets are queued (ping at the latest), answers them joined by \x1e
 *   POST ?EIO=4&transport=polling&sid=…  body = packets joined by \x1e; answers `ok`
 * A second GET while one waits is a protocol error (engine.io closes the session too).
 */
import type { Ctx } from "../../server/context.ts";
import { HttpError } from "../../core/errors.ts";
import { readBody } from "../../server/http.ts";
import type { Session, Sessions } from "./session.ts";
import { EIO, RECORD_SEP } from "./codec.ts";

const TEXT = { "Content-Type": "text/plain; charset=UTF-8", "Cache-Control": "no-store" };

/** engine.io's error answer: HTTP 400 (403 for Forbidden) with `{"code":N,"message":…}`. */
export function engineError(code: 0 | 1 | 2 | 3 | 4 | 5, extra?: Record<string, unknown>): Response {
  const messages = ["Transport unknown", "Session ID unknown", "Bad handshake method", "Bad request", "Forbidden", "Unsupported protocol version"];
  return Response.json({ code, message: messages[code], ...extra }, { status: code === 4 ? 403 : 400 });
}

export function payload(body: string): Response {
  return new Response(body, { headers: TEXT });
}

/** `srv`: the listener that took `req` (the private worker socket for a forwarded GET). */
export function pollGet(ctx: Ctx, sessions: Sessions, s: Session, req: Request, srv: { timeout(req: Request, seconds: number): void } = ctx.server()): Response | Promise<Response> {
  if (s.poll) {
    sessions.close(s, "overlapping GET requests");
    return engineError(3);
  }
  const ready = sessions.drainQueue(s);
  if (ready !== null) return payload(ready);
  // Once the probe is answered, answer at once so the client can pause polling and upgrade.
  if (s.probeAnswered) return payload(EIO.NOOP);
  // The session's own ping answers this GET within pingInterval; Bun's idle timer must not cut it first.
  srv.timeout(req, 0);
  return new Promise<Response>((resolve) => {
    let done = false;
    const answer = (body: string) => {
      if (done) return;
      done = true;
      if (s.poll === answer) s.poll = null;
      resolve(payload(body));
    };
    s.poll = answer;
    req.signal.addEventListener("abort", () => {
      if (done) return;
      done = true;
      if (s.poll === answer) s.poll = null;
      // engine.io: a poll closed by the client before its answer ends the session.
      sessions.close(s, "poll request aborted", undefined, "error");
    });
  });
}

export async function pollPost(ctx: Ctx, sessions: Sessions, s: Session, req: Request): Promise<Response> {
  let body: string;
  try {
    body = await readBody(req, ctx.config.sioMaxHttpBufferBytes);
  } catch (e) {
    // Too large: engine.io closes the session as well (413 from readBody).
    if (e instanceof HttpError) sessions.close(s, e.message, undefined, "error");
    throw e;
  }
  for (const packet of body.split(RECORD_SEP)) {
    if (s.closed) break;
    sessions.packet(s, packet, null);
  }
  // A packet that broke the protocol closed the session: say so instead of `ok`.
  if (s.closeKind === "error") return engineError(3);
  return new Response("ok", { headers: { "Content-Type": "text/html", "Cache-Control": "no-store" } });
}
