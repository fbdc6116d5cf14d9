/** EventSource (the npm `eventsource` package) and raw-stream helpers. Every wait is on an event. */
import { EventSource } from "eventsource";

export interface SseEvent {
  type: string;
  data: string;
  /** The event's `id:` (EventSource's lastEventId), only when there is one. */
  id?: string;
}

export interface TestEventSource {
  es: EventSource;
  /** Resolves on `open`; rejects with the ErrorEvent's code/message if the stream is refused. */
  opened: Promise<void>;
  /** Next received event matching `pred`, skipping others. */
  next(pred?: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  received: SseEvent[];
  /** How many `error` events fired (a dropped connection fires one before reconnecting). */
  errors(): number;
  close(): void;
}

/**
 * Open an EventSource listening to `message` and each name in `events` (EventSource has no
 * catch-all). `headers` are added through the package's `fetch` hook (e.g. Origin).
 */
export function openEventSource(url: string, events: string[] = [], headers: Record<string, string> = {}): TestEventSource {
  const es = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
  });
  const received: SseEvent[] = [];
  const waiters: Array<() => void> = [];
  let cursor = 0;
  let failure: string | null = null;
  let errors = 0;
  const push = (type: string) => (e: MessageEvent) => {
    received.push(e.lastEventId ? { type, data: e.data, id: e.lastEventId } : { type, data: e.data });
    for (const w of waiters.splice(0)) w();
  };
  es.addEventListener("message", push("message"));
  for (const name of events) es.addEventListener(name, push(name));
  const opened = new Promise<void>((resolve, reject) => {
    es.addEventListener("open", () => resolve());
    es.addEventListener("error", (e) => {
      const err = e as unknown as { code?: number; message?: string };
      errors++;
      failure = `EventSource error ${err.code ?? ""} ${err.message ?? ""}`.trim();
      // A refused stream (non-200) closes the EventSource for good.
      if (es.readyState === EventSource.CLOSED) reject(Object.assign(new Error(failure), { code: err.code }));
      for (const w of waiters.splice(0)) w();
    });
  });
  opened.catch(() => {});
  return {
    es,
    opened,
    received,
    errors: () => errors,
    close: () => es.close(),
    async next(pred = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (cursor < received.length) {
          const m = received[cursor++]!;
          if (pred(m)) return m;
        }
        if (es.readyState === EventSource.CLOSED) throw new Error(`EventSource closed (${failure}) while waiting; got ${JSON.stringify(received)}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(received).slice(0, 500)}`);
        await new Promise<void>((res) => {
          const t = setTimeout(res, left);
          waiters.push(() => (clearTimeout(t), res()));
        });
      }
    },
  };
}

/** Read a raw SSE response with fetch until `text` has appeared (or time runs out). */
export async function readRawUntil(url: string, until: (soFar: string) => boolean, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<{ res: Response; text: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const res = await fetch(url, { signal: ac.signal, headers });
  let text = "";
  try {
    const dec = new TextDecoder();
    for await (const chunk of res.body!) {
      text += dec.decode(chunk, { stream: true });
      if (until(text)) break;
    }
  } catch (e) {
    throw new Error(`stream ended without the expected text (${(e as Error).message}); got ${JSON.stringify(text.slice(0, 500))}`);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  if (!until(text)) throw new Error(`stream ended without the expected text; got ${JSON.stringify(text.slice(0, 500))}`);
  return { res, text };
}
