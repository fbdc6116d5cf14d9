/**
 * Client process for the profile scripts (run by them, not by hand):
 *   bun clients.ts <ws-base-url> <n> <native|sio|sse> <room> [sampleEvery=10]
 * Opens n WebSockets (200 handshakes in flight at most) in the room, prints "open <n>".
 * Counts event frames; every `sampleEvery`-th socket parses the frame for its "t" (ms since
 * epoch, fractional) and records the latency. stdin commands:
 *   reset            zero the counters, print "reset done"
 *   wait <k>         print "reached <k>" once k events have arrived (since reset)
 *   report           print "report <count> <p50 ms> <p99 ms> <max ms>"
 */
const [base, nArg, mode, room, sampleArg] = process.argv.slice(2);
const N = Number(nArg);
const SAMPLE = Number(sampleArg ?? 10);
const now = () => performance.timeOrigin + performance.now();
let count = 0;
let lat: number[] = [];
let waitFor = Infinity;
const sockets: WebSocket[] = [];

function onEvent(text: string, sampled: boolean) {
  count++;
  if (sampled) {
    const i = text.indexOf('"t":');
    if (i >= 0) lat.push(now() - parseFloat(text.slice(i + 4)));
  }
  if (count >= waitFor) {
    console.log(`reached ${waitFor}`);
    waitFor = Infinity;
  }
}

/** SSE: count `event:` blocks on a fetch stream (resolves once the preamble arrived). */
function openSse(i: number): Promise<void> {
  const sampled = i % SAMPLE === 0;
  return new Promise((resolve, reject) => {
    fetch(`${base!.replace(/^ws/, "http")}/sse?room=${room}`)
      .then(async (res) => {
        if (res.status !== 200) throw new Error(`sse ${i}: ${res.status}`);
        const dec = new TextDecoder();
        let buf = "";
        for await (const chunk of res.body!) {
          buf += dec.decode(chunk, { stream: true });
          let k: number;
          while ((k = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, k);
            buf = buf.slice(k + 2);
            if (block.startsWith("event: ") || block.includes("\nevent: ")) onEvent(block, sampled);
            else if (block.includes(": ws-emit")) resolve();
          }
        }
      })
      .catch(reject);
  });
}

function open(i: number): Promise<void> {
  if (mode === "sse") return openSse(i);
  const sampled = i % SAMPLE === 0;
  return new Promise((resolve, reject) => {
    const url = mode === "sio" ? `${base}/socket.io/?EIO=4&transport=websocket` : `${base}/ws?room=${room}`;
    const ws = new WebSocket(url);
    sockets.push(ws);
    ws.onerror = () => reject(new Error(`socket ${i} failed`));
    ws.onclose = (e) => {
      if (count > 0 || sockets.length === N) console.error(`socket ${i} closed ${e.code} ${e.reason}`);
    };
    if (mode === "sio") {
      ws.onmessage = (e) => {
        const d = e.data as string;
        if (d.startsWith("42")) return onEvent(d, sampled);
        if (d === "2") return ws.send("3");
        if (d[0] === "0") return ws.send("40");
        if (d.startsWith("40")) return ws.send(`421["join",{"room":"${room}"}]`);
        if (d.startsWith("431")) return resolve();
      };
    } else {
      ws.onmessage = (e) => {
        const d = e.data as string;
        if (d.startsWith('{"type":"event"')) return onEvent(d, sampled);
      };
      ws.onopen = () => resolve();
    }
  });
}

let next = 0;
await Promise.all(
  Array.from({ length: Math.min(200, N) }, async () => {
    while (next < N) await open(next++);
  }),
);
console.log(`open ${N}`);

let buf = "";
for await (const chunk of Bun.stdin.stream()) {
  buf += new TextDecoder().decode(chunk);
  let i: number;
  while ((i = buf.indexOf("\n")) >= 0) {
    const [cmd, arg] = buf.slice(0, i).split(" ");
    buf = buf.slice(i + 1);
    if (cmd === "reset") {
      count = 0;
      lat = [];
      console.log("reset done");
    } else if (cmd === "wait") {
      waitFor = Number(arg);
      if (count >= waitFor) {
        console.log(`reached ${waitFor}`);
        waitFor = Infinity;
      }
    } else if (cmd === "report") {
      const s = lat.sort((a, b) => a - b);
      const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN);
      console.log(`report ${count} ${q(0.5).toFixed(3)} ${q(0.99).toFixed(3)} ${(s.at(-1) ?? NaN).toFixed(3)}`);
    }
  }
}
export {};
