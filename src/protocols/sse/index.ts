/**
 * The SSE adapter: `GET /sse?room=…` streams events as Server-Sent Events (`format=event`, the
 * default, or `format=envelope`), resumable with Last-Event-ID when --sse-history is on. It also
 * provides the stream machinery wspush's SSE clients use (ctx.wspushSse).
 */
import type { Adapter } from "../../server/adapter.ts";
import { createSseEnvelopeFormat, createSseFormat } from "./codec.ts";
import { createSseHistory } from "./history.ts";
import { installSse, SSE_PATH, sseRoute } from "./stream.ts";

/** @param historySize --sse-history: events kept for resume (0 = no ids, no resume). */
export function sseAdapter(historySize: number): Adapter {
  const history = historySize > 0 ? createSseHistory(historySize) : null;
  const formats = [createSseFormat(history?.idOf), createSseEnvelopeFormat(history?.idOf)];
  return {
    name: "sse",
    formats,
    start(ctx) {
      if (history) {
        ctx.hub.onDeliver((m) => history.record(m));
        ctx.log.info(`SSE resume: the last ${historySize} events are kept; event ids are ${history.tag}-<n>`);
      }
      installSse(ctx, { history, formats });
      return { handle: (req, url, peer) => (url.pathname === SSE_PATH ? sseRoute(ctx, req, url, peer()) : null) };
    },
  };
}
