/**
 * The SSE adapter: `GET /sse?room=…` streams events as Server-Sent Events (`format=event`, the
 * default, or `format=envelope`), resumable with Last-Event-ID when room history is on
 * (./resume.ts, docs/history.md). It also provides the stream machinery wspush's SSE clients
 * use (ctx.wspushSse).
 */
import type { Adapter } from "../../server/adapter.ts";
import { createSseEnvelopeFormat, createSseFormat } from "./codec.ts";
import { installSse, SSE_PATH, sseRoute } from "./stream.ts";

const formats = [createSseFormat(), createSseEnvelopeFormat()];

export const sseAdapter: Adapter = {
  name: "sse",
  formats,
  start(ctx) {
    installSse(ctx, { formats });
    return { handle: (req, url, peer) => (url.pathname === SSE_PATH ? sseRoute(ctx, req, url, peer()) : null) };
  },
};
