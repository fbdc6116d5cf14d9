import { defineCommand } from "citty";

/** `ws-emit emit EVENT [DATA]`: POST /emit from a shell script. */
export default defineCommand({
  meta: { name: "emit", description: "Send one event through a running ws-emit (POST /emit)." },
  args: {
    event: { type: "positional", description: "event name", required: true },
    data: { type: "positional", description: "JSON data (omit for none; - reads stdin)", required: false },
    room: { type: "string", description: "room (repeat for several; omit to broadcast)" },
    namespace: { type: "string", description: "Socket.IO namespace (default /)" },
    url: { type: "string", description: "ws-emit base URL (env WS_EMIT_URL; default http://127.0.0.1:8899)" },
    secret: { type: "string", description: "emit secret (env SECRET / WS_EMIT_SECRET)" },
  },
  async run({ args, rawArgs }) {
    const rooms: string[] = [];
    rawArgs.forEach((a, i) => {
      if (a === "--room" && rawArgs[i + 1] !== undefined) rooms.push(rawArgs[i + 1]!);
      else if (a.startsWith("--room=")) rooms.push(a.slice(7));
    });
    const body: Record<string, unknown> = { event: args.event };
    let dataText = args.data as string | undefined;
    if (dataText === "-") dataText = await Bun.stdin.text();
    if (dataText !== undefined) {
      try {
        body.data = JSON.parse(dataText);
      } catch {
        process.stderr.write(`ws-emit emit: DATA is not valid JSON: ${dataText.slice(0, 80)}\n`);
        process.exit(2);
      }
    }
    if (rooms.length === 1) body.room = rooms[0];
    else if (rooms.length > 1) body.rooms = rooms;
    if (args.namespace) body.namespace = args.namespace;
    const base = (args.url ?? process.env.WS_EMIT_URL ?? "http://127.0.0.1:8899").replace(/\/+$/, "");
    const secret = args.secret ?? process.env.WS_EMIT_SECRET ?? process.env.SECRET;
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (secret) headers.Authorization = `Bearer ${secret}`;
    let res: Response;
    try {
      res = await fetch(`${base}/emit`, { method: "POST", headers, body: JSON.stringify(body) });
    } catch (e) {
      process.stderr.write(`ws-emit emit: cannot reach ${base}: ${(e as Error).message}\n`);
      process.exit(1);
    }
    const text = await res.text();
    (res.ok ? process.stdout : process.stderr).write(`${text}\n`);
    process.exit(res.ok ? 0 : 1);
  },
});
