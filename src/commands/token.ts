import { defineCommand } from "citty";
import { scanFlags } from "./cli-args.ts";
import { parseTtl, signToken } from "../auth/token.ts";
import { signJwt } from "../auth/jwt.ts";
import { parseRoom, roomspaceOf } from "../core/rooms.ts";

/** What `ws-emit token` was asked for, checked; every problem at once, each naming its flag. */
export function tokenRequest(rawArgs: string[], env: Record<string, string | undefined> = process.env): { ok: true; rooms: string[]; secret: string; ttl: number; sub?: string; jwt: boolean } | { ok: false; issues: string[] } {
  const scan = scanFlags(rawArgs, new Set(["room", "secret", "ttl", "sub"]), new Set(["jwt"]));
  if (!scan.ok) return scan;
  const issues: string[] = [];
  if (scan.positionals.length) issues.push(`unexpected argument ${scan.positionals[0]}`);
  const rooms = scan.flags.room ?? [];
  if (rooms.length === 0) issues.push('--room is required (a private room "space::name", or a pattern "space::*")');
  const spaces = new Set<string>();
  for (const room of rooms) {
    const r = parseRoom(room);
    if (!r.ok) issues.push(`--room ${JSON.stringify(room)}: ${r.error}`);
    else if (r.roomspace === null) issues.push(`--room ${room}: a public room needs no token (private rooms look like "space::name")`);
    else spaces.add(r.roomspace);
  }
  if (spaces.size > 1) issues.push(`--room: all rooms must be in one roomspace, since the token is signed with its secret (got ${[...spaces].join(", ")})`);
  const secret = scan.flags.secret?.at(-1) ?? env.WS_EMIT_TOKEN_SECRET ?? "";
  if (secret === "") issues.push("--secret is required: the roomspace's secret (or env WS_EMIT_TOKEN_SECRET)");
  const ttlText = scan.flags.ttl?.at(-1) ?? "1h";
  const ttl = parseTtl(ttlText);
  if (ttl === null) issues.push(`--ttl ${ttlText}: use seconds or a number with s, m, h or d (e.g. 90s, 30m, 1h)`);
  const sub = scan.flags.sub?.at(-1);
  const jwtText = scan.flags.jwt?.at(-1) ?? "false";
  if (jwtText !== "true" && jwtText !== "false") issues.push(`--jwt=${jwtText}: --jwt takes no value (or true/false)`);
  if (issues.length) return { ok: false, issues };
  return { ok: true, rooms, secret, ttl: ttl!, ...(sub !== undefined ? { sub } : {}), jwt: jwtText === "true" };
}

/** `ws-emit token --room dir::a --secret S --ttl 1h`: print a signed join token for shell scripts. */
export default defineCommand({
  meta: { name: "token", description: "Print a signed token that lets a browser join private rooms (no secret in the page)." },
  args: {
    room: { type: "string", description: 'private room or pattern ("dir::a", "dir::*"); repeat for several, all in one roomspace' },
    secret: { type: "string", description: "the roomspace's secret (env WS_EMIT_TOKEN_SECRET)" },
    ttl: { type: "string", description: "lifetime: seconds or 90s, 30m, 1h, 7d (default 1h)" },
    sub: { type: "string", description: "optional subject (user id) carried in the token (presence identifies members by it)" },
    jwt: { type: "boolean", description: "print a standard HS256 JWT (claims rooms, exp, iat, sub) instead of the compact format" },
  },
  async run({ rawArgs }) {
    const r = tokenRequest(rawArgs);
    if (!r.ok) {
      for (const i of r.issues) process.stderr.write(`ws-emit token: ${i}\n`);
      process.exit(2);
    }
    const exp = Math.floor(Date.now() / 1000) + r.ttl;
    const payload = { rooms: r.rooms, exp, ...(r.sub !== undefined ? { sub: r.sub } : {}) };
    process.stdout.write(`${r.jwt ? await signJwt(payload, r.secret) : signToken(payload, r.secret)}\n`);
  },
});
