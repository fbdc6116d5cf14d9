/** A WebSocket test client with awaitable messages and close. No sleeps: every wait is on an event. */
export interface TestWs {
  ws: WebSocket;
  /** Next message (JSON-parsed when possible) that matches `pred`, skipping others. */
  next(pred?: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Every message received so far, parsed. */
  received: any[];
  send(x: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function openWs(url: string, init?: { headers?: Record<string, string> }): Promise<TestWs> {
  return new Promise((resolve, reject) => {
    // Bun's WebSocket accepts headers (for Origin tests).
    const ws = new WebSocket(url, init as any);
    const received: any[] = [];
    let cursor = 0;
    const waiters: Array<() => void> = [];
    let closeInfo: { code: number; reason: string } | null = null;
    const closed = new Promise<{ code: number; reason: string }>((res) => {
      ws.addEventListener("close", (e) => {
        closeInfo = { code: e.code, reason: e.reason };
        res(closeInfo);
        for (const w of waiters.splice(0)) w();
      });
    });
    ws.addEventListener("message", (e) => {
      let m: unknown = e.data;
      if (typeof m === "string") {
        try {
          m = JSON.parse(m);
        } catch {}
      }
      received.push(m);
      for (const w of waiters.splice(0)) w();
    });
    ws.addEventListener("open", () =>
      resolve({
        ws,
        received,
        send: (x) => ws.send(typeof x === "string" ? x : JSON.stringify(x)),
        closed,
        close: () => ws.close(),
        async next(pred = () => true, timeoutMs = 5000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            while (cursor < received.length) {
              const m = received[cursor++];
              if (pred(m)) return m;
            }
            if (closeInfo) throw new Error(`socket closed (${closeInfo.code} ${closeInfo.reason}) while waiting; got ${JSON.stringify(received)}`);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(received)}`);
            await new Promise<void>((res) => {
              const t = setTimeout(res, left);
              waiters.push(() => (clearTimeout(t), res()));
            });
          }
        },
      }),
    );
    ws.addEventListener("error", () => reject(new Error(`WebSocket ${url} failed to open`)), { once: true });
  });
}

/** Try to open; resolve with the HTTP status seen on failure via a plain fetch of the upgrade. */
export async function upgradeStatus(httpUrl: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(httpUrl, {
    headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}
