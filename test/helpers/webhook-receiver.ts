/** A real HTTP receiver for lifecycle webhooks (Bun.serve in the test process): checks signatures, records events, can be "down". */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface ReceivedEvent {
  id: string;
  type: string;
  room: string;
  sub?: string;
  node?: string;
  time: number;
}

export interface WebhookReceiver {
  url: string;
  events: ReceivedEvent[];
  /** POSTs answered 503 while down. */
  refused: number;
  /** POSTs whose signature did not verify (answered 401). */
  badSignatures: number;
  down: boolean;
  /** Resolves once `pred` holds for the events received so far (checked on each POST). */
  waitFor(pred: (events: ReceivedEvent[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves once at least `n` POSTs were refused. */
  waitRefused(n: number, timeoutMs?: number): Promise<void>;
  stop(): void;
}

export function startWebhookReceiver(secret: string): WebhookReceiver {
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const r: WebhookReceiver = {
    url: "",
    events: [],
    refused: 0,
    badSignatures: 0,
    down: false,
    async waitFor(pred, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(r.events)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`webhook receiver: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(r.events)}`);
        await new Promise<void>((res) => {
          const t = setTimeout(res, left);
          waiters.push(() => (clearTimeout(t), res()));
        });
      }
    },
    async waitRefused(n, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (r.refused < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`webhook receiver: fewer than ${n} refused POSTs within ${timeoutMs} ms`);
        await new Promise<void>((res) => {
          const t = setTimeout(res, left);
          waiters.push(() => (clearTimeout(t), res()));
        });
      }
    },
    stop: () => server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.text();
      if (r.down) {
        r.refused++;
        wake();
        return new Response("down", { status: 503 });
      }
      const ts = req.headers.get("x-ws-emit-timestamp") ?? "";
      const sig = req.headers.get("x-ws-emit-signature") ?? "";
      const want = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex")}`);
      if (sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), want)) {
        r.badSignatures++;
        wake();
        return new Response("bad signature", { status: 401 });
      }
      r.events.push(...(JSON.parse(body) as { events: ReceivedEvent[] }).events);
      wake();
      return new Response(null, { status: 204 });
    },
  });
  r.url = `http://127.0.0.1:${server.port}/hook`;
  return r;
}

/** Events of one room, one per id (at-least-once delivery may repeat an id), as "type" or "type:sub". */
export function transitionsOf(events: ReceivedEvent[], room: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of events) {
    if (e.room !== room || seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e.sub ? `${e.type}:${e.sub}` : e.type);
  }
  return out;
}
