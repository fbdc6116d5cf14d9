/**
 * One load-generator process for the scale benches (bench/scale-100k.ts, bench/scale-out.ts):
 * native ws-emit WebSocket subscribers over raw TCP (Bun.connect with `localAddress`, so each
 * process can use its own loopback source address and stay under the 20,000 open-file limit),
 * a few hundred bytes of state per connection. Started with an IPC channel by its orchestrator:
 *
 *   ← {type:"plan", localAddress, conns:[[port, path, room], …], concurrency, connectSeconds}
 *   → {type:"joined", joined, errors, seconds}
 *   → {type:"done", items:[[seq, epochMs], …]}      every emit all of this process's members of its room got
 *   ← {type:"report"}  → {type:"report", received, disconnects, perSeqMissing}
 *
 * Emits carry data {"s": seq, "t": send time}; a seq is "done" here when every subscriber of
 * its room in this process has it. Pings are answered with pongs (server heartbeat).
 */
import type { Socket } from "bun";

type Plan = { type: "plan"; localAddress?: string; conns: Array<[number, string, string]>; concurrency: number; connectSeconds: number };
type Conn = { room: string; buf: Uint8Array | null; upgraded: boolean; joined: boolean; closed: boolean; settle: (() => void) | null };

const dec = new TextDecoder();
const members = new Map<string, number>();
const counts = new Map<number, number>();
const seqRoom = new Map<number, string>();
let received = 0;
let disconnects = 0;
let joined = 0;
let errors = 0;
let pendingDone: Array<[number, number]> = [];
const send = (m: unknown) => process.send?.(m);

function onText(c: Conn, text: string) {
  if (!c.joined) {
    if (text.includes('"type":"joined"')) {
      c.joined = true;
      joined++;
      // Only joined subscribers count towards "every member of the room has it".
      members.set(c.room, (members.get(c.room) ?? 0) + 1);
      c.settle?.();
    }
    return;
  }
  const i = text.indexOf('"s":');
  if (i < 0) return;
  let seq = 0;
  for (let k = i + 4; k < text.length; k++) {
    const d = text.charCodeAt(k) - 48;
    if (d < 0 || d > 9) break;
    seq = seq * 10 + d;
  }
  received++;
  const n = (counts.get(seq) ?? 0) + 1;
  counts.set(seq, n);
  if (!seqRoom.has(seq)) seqRoom.set(seq, c.room);
  if (n === members.get(c.room)) {
    pendingDone.push([seq, Date.now()]);
    counts.delete(seq);
    seqRoom.delete(seq);
  }
}

const PONG_EMPTY = new Uint8Array([0x8a, 0x80, 0, 0, 0, 0]);

function onData(sock: Socket<Conn>, chunk: Uint8Array) {
  const c = sock.data;
  let buf = c.buf ? concat(c.buf, chunk) : chunk;
  let off = 0;
  if (!c.upgraded) {
    const end = indexOfCrlf2(buf);
    if (end < 0) {
      c.buf = buf.slice();
      return;
    }
    if (dec.decode(buf.subarray(0, 12)) !== "HTTP/1.1 101") {
      errors++;
      sock.end();
      return;
    }
    c.upgraded = true;
    off = end + 4;
  }
  while (buf.length - off >= 2) {
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    let len = b1 & 0x7f;
    let h = 2;
    if (len === 126) {
      if (buf.length - off < 4) break;
      len = (buf[off + 2]! << 8) | buf[off + 3]!;
      h = 4;
    } else if (len === 127) {
      if (buf.length - off < 10) break;
      len = Number(new DataView(buf.buffer, buf.byteOffset + off + 2, 8).getBigUint64(0));
      h = 10;
    }
    if (buf.length - off - h < len) break;
    const op = b0 & 0x0f;
    const payload = buf.subarray(off + h, off + h + len);
    if (op === 1) onText(c, dec.decode(payload));
    else if (op === 9) {
      // Pong with the ping's payload, masked with a zero key (any key is valid).
      if (payload.length === 0) sock.write(PONG_EMPTY);
      else sock.write(concat(new Uint8Array([0x8a, 0x80 | payload.length, 0, 0, 0, 0]), payload));
    } else if (op === 8) {
      c.closed = true;
      sock.end();
    }
    off += h + len;
  }
  c.buf = off >= buf.length ? null : buf.slice(off);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfCrlf2(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  return -1;
}

async function run(plan: Plan) {
  const t0 = Date.now();
  const deadline = t0 + plan.connectSeconds * 1000;
  let next = 0;
  let inFlight = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (inFlight < plan.concurrency && next < plan.conns.length && Date.now() < deadline) {
        const [port, path, room] = plan.conns[next++]!;
        inFlight++;
        const c: Conn = { room, buf: null, upgraded: false, joined: false, closed: false, settle: null };
        c.settle = () => {
          c.settle = null;
          inFlight--;
          pump();
        };
        Bun.connect<Conn>({
          hostname: "127.0.0.1",
          port,
          ...(plan.localAddress ? { localAddress: plan.localAddress } : {}),
          data: c,
          socket: {
            open(s: Socket<Conn>) {
              s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
            },
            data: onData,
            close(s: Socket<Conn>) {
              if (s.data.joined) disconnects++;
              else if (!s.data.closed) errors++;
              s.data.closed = true;
              s.data.settle?.();
            },
            error(s: Socket<Conn>) {
              s.data.closed = true;
              s.data.settle?.();
            },
            connectError() {
              errors++;
              c.closed = true;
              c.settle?.();
            },
          },
        } as unknown as Parameters<typeof Bun.connect<Conn>>[0]).catch(() => {
          errors++;
          c.closed = true;
          c.settle?.();
        });
      }
      if ((next >= plan.conns.length || Date.now() >= deadline) && inFlight === 0) resolve();
    };
    pump();
    // Catch the end when the last sockets settle (and the deadline).
    const t = setInterval(() => {
      pump();
      if ((next >= plan.conns.length || Date.now() >= deadline) && inFlight === 0) {
        clearInterval(t);
        resolve();
      }
    }, 50);
  });
  send({ type: "joined", joined, errors, seconds: (Date.now() - t0) / 1000 });
  setInterval(() => {
    if (pendingDone.length === 0) return;
    send({ type: "done", items: pendingDone });
    pendingDone = [];
  }, 5);
}

process.on("message", (m: { type: string }) => {
  if (m.type === "plan") void run(m as Plan);
  if (m.type === "report") {
    let missing = 0;
    for (const [seq, n] of counts) missing += (members.get(seqRoom.get(seq) ?? "") ?? 0) - n;
    send({ type: "report", received, disconnects, joined, errors, incompleteSeqs: counts.size, missing });
  }
  if (m.type === "exit") process.exit(0);
});
