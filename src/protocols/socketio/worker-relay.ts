/**
 * A Socket.IO upgrade that lands on another worker (`--workers`): the WebSocket cannot be
 * handed to the worker that owns the session, so the worker that got it (B) accepts it and
 * relays its frames, both ways, over a private unix socket `<dir>/<index>.relay.sock` of the
 * owner (A). A runs the usual probe (`2probe` → `3probe`, then `5`) over the relay and keeps
 * the session, its rooms and its place in the hub: every emit still reaches the client once,
 * from the one process that owns it. B only copies bytes.
 *
 * Wire: frames of [u32 big-endian length][u8 kind][payload]; the first frame from B is
 * HELLO {token, sid} (the per-run token, compared in constant time; the directory is 0700).
 */
import type { Socket } from "bun";
import { rmSync } from "node:fs";
import { secretMatches } from "../../auth/secret.ts";
import type { Logger } from "../../ops/log.ts";

const KIND = { hello: 0, text: 1, binary: 2 } as const;
/** Bytes a relay may hold unsent on either side before it is closed as too slow. */
const MAX_PENDING = 4 * 1024 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface RelayPipe {
  /** false when the pipe is closed or its buffer is over the limit (the caller closes). */
  send(data: string | Uint8Array): boolean;
  close(): void;
  readonly open: boolean;
}

export interface RelayEnd {
  message(data: string | Uint8Array): void;
  closed(): void;
}

export function encodeFrame(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, payload.byteLength + 1);
  out[4] = kind;
  out.set(payload, 5);
  return out;
}

/** Cuts a byte stream into frames; returns false once a frame is over `max` (close the pipe). */
export function frameReader(max: number, onFrame: (kind: number, payload: Uint8Array) => void): (chunk: Uint8Array) => boolean {
  let buf: Uint8Array = new Uint8Array(0);
  return (chunk) => {
    if (buf.byteLength === 0) buf = chunk;
    else {
      const b = new Uint8Array(buf.byteLength + chunk.byteLength);
      b.set(buf);
      b.set(chunk, buf.byteLength);
      buf = b;
    }
    let off = 0;
    while (buf.byteLength - off >= 4) {
      const len = new DataView(buf.buffer, buf.byteOffset + off, 4).getUint32(0);
      if (len < 1 || len > max + 1) return false;
      if (buf.byteLength - off - 4 < len) break;
      onFrame(buf[off + 4]!, buf.slice(off + 5, off + 4 + len));
      off += 4 + len;
    }
    buf = off === 0 ? buf.slice() : buf.slice(off);
    return true;
  };
}

/** Writes frames to a socket, keeping what the kernel did not take until `drain`. */
function pipeOver(sock: () => Socket<unknown> | null, onClose: () => void, first?: Uint8Array): RelayPipe & { flush(): void; markClosed(): void } {
  const pending: Uint8Array[] = first ? [first] : [];
  let size = first?.byteLength ?? 0;
  let open = true;
  const flush = () => {
    const s = sock();
    if (!s) return;
    while (pending.length > 0) {
      const b = pending[0]!;
      const n = s.write(b);
      if (n < b.byteLength) {
        if (n > 0) pending[0] = b.subarray(n);
        size -= Math.max(n, 0);
        return;
      }
      pending.shift();
      size -= b.byteLength;
    }
  };
  return {
    get open() {
      return open;
    },
    send(data) {
      if (!open) return false;
      const f = typeof data === "string" ? encodeFrame(KIND.text, enc.encode(data)) : encodeFrame(KIND.binary, data);
      pending.push(f);
      size += f.byteLength;
      flush();
      return size <= MAX_PENDING;
    },
    close() {
      if (!open) return;
      open = false;
      flush();
      sock()?.end();
      onClose();
    },
    flush,
    markClosed() {
      open = false;
    },
  };
}

const relayPath = (dir: string, index: string) => `${dir}/${index}.relay.sock`;

/**
 * The owner's side: accept relays from the other workers. `accept(sid, pipe)` returns the
 * session's handlers, or null (unknown or closed session: the relay is closed).
 */
export function listenRelays(dir: string, self: string, token: string, maxFrame: number, log: Logger, accept: (sid: string, pipe: RelayPipe) => RelayEnd | null): { close(): void } {
  const path = relayPath(dir, self);
  rmSync(path, { force: true });
  type St = { read: (c: Uint8Array) => boolean; end: RelayEnd | null; pipe: ReturnType<typeof pipeOver> };
  const listener = Bun.listen<St>({
    unix: path,
    socket: {
      open(sock) {
        const pipe = pipeOver(() => sock as Socket<unknown>, () => {});
        sock.data = {
          pipe,
          end: null,
          read: frameReader(maxFrame, (kind, payload) => {
            const st = sock.data;
            if (st.end === null) {
              let hello: { token?: unknown; sid?: unknown } = {};
              try {
                hello = kind === KIND.hello ? JSON.parse(dec.decode(payload)) : {};
              } catch {}
              if (!secretMatches(hello.token, token) || typeof hello.sid !== "string") {
                log.warn("refused a relay on the private worker socket without the right token");
                return void sock.end();
              }
              const end = accept(hello.sid, pipe);
              if (!end) return void sock.end();
              st.end = end;
              return;
            }
            st.end.message(kind === KIND.text ? dec.decode(payload) : payload);
          }),
        };
      },
      data(sock, chunk) {
        if (!sock.data.read(chunk)) sock.end();
      },
      drain(sock) {
        sock.data.pipe.flush();
      },
      close(sock) {
        sock.data.pipe.markClosed();
        sock.data.end?.closed();
      },
      error(sock) {
        sock.data.pipe.markClosed();
        sock.data.end?.closed();
      },
    },
  });
  return { close: () => listener.stop(true) };
}

/** The relaying worker's side: a pipe to the owner's relay socket for session `sid` (frames queue until connected). */
export function connectRelay(dir: string, owner: string, token: string, sid: string, maxFrame: number, end: RelayEnd): RelayPipe {
  let sock: Socket<unknown> | null = null;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    pipe.markClosed();
    end.closed();
  };
  // The hello goes first, before anything the client sends meanwhile.
  const hello = encodeFrame(KIND.hello, enc.encode(JSON.stringify({ token, sid })));
  const pipe = pipeOver(() => sock, finish, hello);
  const read = frameReader(maxFrame, (kind, payload) => end.message(kind === KIND.text ? dec.decode(payload) : payload));
  Bun.connect({
    unix: relayPath(dir, owner),
    socket: {
      open(s) {
        sock = s as Socket<unknown>;
        pipe.flush();
      },
      data(s, chunk) {
        if (!read(chunk)) s.end();
      },
      drain() {
        pipe.flush();
      },
      close: finish,
      error: finish,
      connectError: finish,
    },
  }).catch(finish);
  return pipe;
}
