/**
 * A minimal HTTP/1.1 keep-alive client on one raw socket (TCP_NODELAY), for the load
 * generator's publisher: each publish worker owns exactly one connection, so "requests in
 * flight" is exact, and the work stays on the load generator's thread (fetch has a pool and
 * a thread of its own). One request at a time; responses need Content-Length or chunked.
 */
import type { Socket } from "bun";

export interface HttpClient {
  post(path: string, body: string, contentType?: string): Promise<number>;
  close(): void;
}

export async function connectHttp(base: string): Promise<HttpClient> {
  const u = new URL(base);
  let buf = "";
  let pending: { resolve(status: number): void; reject(e: Error): void } | null = null;
  let closed = false;

  /** Parse one whole response at the start of buf; return its status, or null if incomplete. */
  function parse(): number | null {
    const h = buf.indexOf("\r\n\r\n");
    if (h < 0) return null;
    const head = buf.slice(0, h);
    const status = Number(head.slice(9, 12));
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (cl) {
      const end = h + 4 + Number(cl[1]);
      if (buf.length < end) return null;
      buf = buf.slice(end);
      return status;
    }
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const end = buf.indexOf("\r\n0\r\n\r\n", h);
      if (end < 0) return null;
      buf = buf.slice(end + 7);
      return status;
    }
    buf = buf.slice(h + 4);
    return status;
  }

  const socket: Socket = await Bun.connect({
    hostname: u.hostname,
    port: Number(u.port),
    socket: {
      open(s) {
        s.setNoDelay(true);
      },
      data(_s, chunk) {
        buf += chunk.toString("latin1");
        const status = parse();
        if (status !== null && pending) {
          const p = pending;
          pending = null;
          p.resolve(status);
        }
      },
      close() {
        closed = true;
        pending?.reject(new Error("connection closed"));
        pending = null;
      },
      error() {},
    },
  });
  return {
    post(path, body, contentType = "application/json") {
      if (closed) return Promise.reject(new Error("connection closed"));
      if (pending) return Promise.reject(new Error("one request at a time"));
      return new Promise<number>((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
    },
    close() {
      socket.end();
    },
  };
}
