/** socket.io-client helpers: awaitable connect, events and acks. No sleeps: every wait is on an event. */
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";

export type SioOptions = Partial<ManagerOptions & SocketOptions>;

/** Resolve once `socket` emits `event` (with its arguments as an array), reject after `ms`. */
export function once(socket: { once(ev: string, fn: (...a: any[]) => void): unknown }, event: string, ms = 5000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    socket.once(event, (...a: any[]) => {
      clearTimeout(t);
      resolve(a);
    });
  });
}

/** Connect (no auto-reconnect, so a failure shows) and wait for `connect`. */
export async function connectSio(url: string, opts: SioOptions = {}): Promise<Socket> {
  const socket = io(url, { reconnection: false, forceNew: true, ...opts });
  const failed = once(socket, "connect_error").then(([e]) => {
    throw new Error(`connect_error: ${e?.message ?? e}`);
  });
  await Promise.race([once(socket, "connect"), failed]);
  failed.catch(() => {});
  return socket;
}

/** Emit with an ack and wait for the answer. */
export function emitAck(socket: Socket, event: string, ...args: unknown[]): Promise<any> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

/** Record every `event` the socket gets, each as its argument list; `next()` awaits the next unseen one. */
export function recorder(socket: Socket, event: string) {
  const got: any[][] = [];
  let cursor = 0;
  let wake: (() => void) | null = null;
  socket.on(event, (...a: any[]) => {
    got.push(a);
    wake?.();
  });
  return {
    got,
    async next(ms = 5000): Promise<any[]> {
      const deadline = Date.now() + ms;
      while (cursor >= got.length) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no "${event}" within ${ms} ms (got ${got.length})`);
        await new Promise<void>((res) => {
          const t = setTimeout(res, left);
          wake = () => (clearTimeout(t), (wake = null), res());
        });
      }
      return got[cursor++]!;
    },
  };
}
