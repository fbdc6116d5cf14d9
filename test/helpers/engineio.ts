/** A raw Engine.IO v4 client over fetch and WebSocket, to test the wire exactly (no socket.io-client logic). */

export const SEP = "\x1e";

export function eioUrl(base: string, q: Record<string, string> = {}): string {
  return `${base}/socket.io/?${new URLSearchParams({ EIO: "4", transport: "polling", ...q })}`;
}

export async function handshake(base: string): Promise<{ sid: string; upgrades: string[]; pingInterval: number; pingTimeout: number; maxPayload: number }> {
  const res = await fetch(eioUrl(base));
  const text = await res.text();
  if (res.status !== 200 || text[0] !== "0") throw new Error(`handshake failed: ${res.status} ${text}`);
  return JSON.parse(text.slice(1));
}

/** One long-poll GET: the packets of its payload. */
export async function poll(base: string, sid: string): Promise<string[]> {
  const res = await fetch(eioUrl(base, { sid }));
  const text = await res.text();
  if (res.status !== 200) throw new Error(`poll failed: ${res.status} ${text}`);
  return text.split(SEP);
}

export async function send(base: string, sid: string, ...packets: string[]): Promise<{ status: number; text: string }> {
  const res = await fetch(eioUrl(base, { sid }), { method: "POST", body: packets.join(SEP), headers: { "Content-Type": "text/plain;charset=UTF-8" } });
  return { status: res.status, text: await res.text() };
}

/** A WebSocket keeping every text frame as is (no JSON parsing: `40` must stay a string). */
export interface RawWs {
  frames: string[];
  next(ms?: number): Promise<string>;
  send(s: string): void;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export function openRawWs(url: string): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: string[] = [];
    let cursor = 0;
    let wake: (() => void) | null = null;
    let isClosed = false;
    const closed = new Promise<{ code: number; reason: string }>((res) =>
      ws.addEventListener("close", (e) => {
        isClosed = true;
        res({ code: e.code, reason: e.reason });
        wake?.();
      }),
    );
    ws.addEventListener("message", (e) => {
      frames.push(String(e.data));
      wake?.();
    });
    ws.addEventListener("error", () => reject(new Error(`WebSocket ${url} failed`)), { once: true });
    ws.addEventListener("open", () =>
      resolve({
        frames,
        closed,
        send: (s) => ws.send(s),
        close: () => ws.close(),
        async next(ms = 5000) {
          const deadline = Date.now() + ms;
          while (cursor >= frames.length) {
            if (isClosed) throw new Error(`closed while waiting; frames: ${JSON.stringify(frames)}`);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`no frame within ${ms} ms; frames: ${JSON.stringify(frames)}`);
            await new Promise<void>((r) => {
              const t = setTimeout(r, left);
              wake = () => (clearTimeout(t), (wake = null), r());
            });
          }
          return frames[cursor++]!;
        },
      }),
    );
  });
}
