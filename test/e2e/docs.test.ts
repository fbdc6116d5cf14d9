/**
 * The docs cannot drift: every ```sh, ```python and ```php block in README.md and docs/*.md runs
 * here against a real ws-emit and redis-server, and every ```console check block's commands must
 * print exactly what the block shows.
 *
 * Markers after the language: `skip` (cannot run in a test: sudo, systemd, fixed ports, a
 * server of its own), `background` (a long-running command such as `curl -N`: started, and its
 * output checked when the file is done). Before a block, `<!-- docs-test: server ARGS -->`
 * restarts the file's server with ARGS (default: no flags; always on the test's Redis).
 * Commands are rewritten to reach the test's server and Redis instead of :8899 and :6379, and
 * `ws-emit` runs this checkout's source. A block fails on a non-zero exit or an `"error"` answer.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedis, type RedisServer } from "../helpers/redis.ts";
import { blocksOf, type Block } from "../helpers/doc-blocks.ts";
import { cleanEnv, ROOT, startWsEmit, type Started } from "../helpers/server.ts";

const FILES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const RUN = new Set(["sh", "python", "php"]);

const tmp = mkdtempSync(join(tmpdir(), "ws-emit-docs-"));
const binDir = join(tmp, "bin");
let redis: RedisServer;
let havePhp = false;

function have(cmd: string[]): boolean {
  try {
    return Bun.spawnSync(cmd, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  redis = await startRedis();
  // `ws-emit` in the docs is this checkout, from source.
  Bun.spawnSync(["mkdir", "-p", binDir]);
  writeFileSync(join(binDir, "ws-emit"), `#!/bin/sh\nexec ${process.execPath} ${ROOT}/src/cli.ts "$@"\n`);
  chmodSync(join(binDir, "ws-emit"), 0o755);
  // The PHP and Python samples need their Redis clients (Debian packages, as the docs say).
  const missing: string[] = [];
  if (!have(["php", "-r", "exit(class_exists('Redis') ? 0 : 1);"])) missing.push("php-cli", "php-redis");
  if (!have(["/usr/bin/python3", "-c", "import redis"])) missing.push("python3-redis");
  if (missing.length && process.getuid?.() === 0 && have(["which", "apt-get"])) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    Bun.spawnSync(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing], { env, stdout: "ignore", stderr: "ignore" });
  }
  havePhp = have(["php", "-r", "exit(class_exists('Redis') ? 0 : 1);"]);
}, 300_000);

afterAll(async () => {
  await redis?.[Symbol.asyncDispose]();
});

/** The block as it runs here: the test's server and Redis instead of the documented ports. */
function rewrite(code: string, base: string): string {
  const hostPort = base.replace(/^http:\/\//, "");
  return code
    .replace(/http:\/\/(localhost|127\.0\.0\.1):8899/g, base)
    .replace(/\b(localhost|127\.0\.0\.1):8899/g, hostPort)
    .replace(/redis:\/\/(localhost|127\.0\.0\.1):6379(\/0)?/g, `redis://127.0.0.1:${redis.port}/0`)
    .replace(/(^|[\s;&|(])redis-cli /gm, `$1redis-cli -p ${redis.port} `)
    .replace(/'127\.0\.0\.1', 6379/g, `'127.0.0.1', ${redis.port}`);
}

function command(b: Block, code: string): string[] | null {
  if (b.lang === "sh") return ["bash", "-eo", "pipefail", "-c", code];
  if (b.lang === "python") return ["/usr/bin/python3", "-c", code];
  if (b.lang === "php") return havePhp ? ["php", "-r", code.replace(/^<\?php\s*/, "")] : null;
  return null;
}

async function runBlock(b: Block, base: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  const cmd = command(b, rewrite(b.code, base))!;
  const p = Bun.spawn(cmd, { cwd: tmp, env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 20_000);
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, out: o + e };
}

for (const file of FILES) {
  const blocks = blocksOf(file, readFileSync(join(ROOT, file), "utf8"));
  const runnable = blocks.filter((b) => (RUN.has(b.lang) && !b.marks.includes("skip")) || (b.lang === "console" && b.marks.includes("check")));
  if (runnable.length === 0) continue;
  describe(file, () => {
    test(`${runnable.length} block(s) run as documented`, async () => {
      let srv: Started | null = null;
      let serverKey = "";
      const background: Array<{ b: Block; p: Bun.Subprocess<"ignore", "pipe", "pipe"> }> = [];
      const skippedPhp: number[] = [];
      try {
        for (const b of runnable) {
          const args = b.server ?? [];
          const key = args.join(" ");
          if (!srv || key !== serverKey) {
            await srv?.stop("SIGKILL");
            srv = await startWsEmit(args.includes("--redis") ? args : ["--redis", redis.url, ...args]);
            await srv.waitForLine(/redis fan-out healthy/);
            serverKey = key;
          }
          const env = cleanEnv({ PATH: `${binDir}:${process.env.PATH}`, WS_EMIT_URL: srv.url });
          const where = `${file}:${b.line}`;
          if (b.lang === "console") {
            // `$ cmd` lines run; the lines up to the next `$` are what it must print.
            const parts = b.code.split(/^\$ /m).filter(Boolean);
            for (const part of parts) {
              const [cmd, ...expected] = part.split("\n");
              const r = await runBlock({ ...b, lang: "sh", code: cmd! }, srv.url, env);
              expect({ where, cmd, out: r.out.trimEnd() }).toEqual({ where, cmd, out: expected.join("\n").trimEnd() });
            }
            continue;
          }
          if (b.lang === "php" && !havePhp) {
            skippedPhp.push(b.line);
            continue;
          }
          if (b.marks.includes("background")) {
            const p = Bun.spawn(command(b, rewrite(b.code, srv.url))!, { cwd: tmp, env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
            background.push({ b, p });
            continue;
          }
          const r = await runBlock(b, srv.url, env);
          expect({ where, code: r.code, out: r.out }).toMatchObject({ where, code: 0 });
          expect({ where, refused: /"error"\s*:/.test(r.out) ? r.out : "" }).toEqual({ where, refused: "" });
        }
      } finally {
        for (const { p } of background) p.kill("SIGTERM");
        for (const { b, p } of background) {
          const out = (await new Response(p.stdout).text()) + (await new Response(p.stderr).text());
          await p.exited;
          const where = `${file}:${b.line}`;
          expect({ where, refused: /"error"\s*:/.test(out) ? out : "" }).toEqual({ where, refused: "" });
        }
        await srv?.stop("SIGKILL");
      }
      if (skippedPhp.length) console.warn(`${file}: PHP blocks at lines ${skippedPhp.join(", ")} not run: no php-cli with php-redis here (apt-get install php-cli php-redis as root)`);
    }, 240_000);
  });
}

test("blocks carry only the markers the runner knows (skip, background, check)", () => {
  // A block with an unknown marker would silently run or not: only skip, background and check exist.
  for (const file of FILES)
    for (const b of blocksOf(file, readFileSync(join(ROOT, file), "utf8")))
      for (const m of b.marks) expect({ where: `${file}:${b.line}`, m, ok: ["skip", "background", "check"].includes(m) }).toMatchObject({ ok: true });
  expect(existsSync(join(ROOT, "docs/README.md"))).toBe(true);
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
const slug = (h: string) => h.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
/** Pages other work adds to docs/ (linked from the index before they land). */
const PLANNED = new Set(["limits.md", "security.md", "reliability.md", "history.md", "presence.md", "client.md", "scaling.md", "architecture.md"]);

test("links between the docs point at files and headings that exist", () => {
  const broken: string[] = [];
  for (const file of FILES) {
    const text = readFileSync(join(ROOT, file), "utf8");
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1]!;
      if (/^(https?:|mailto:)/.test(href)) continue;
      const [path, anchor] = href.split("#") as [string, string | undefined];
      const target = path === "" ? file : join(dir, path).replace(/\\/g, "/");
      if (!existsSync(join(ROOT, target))) {
        if (!PLANNED.has(target.replace(/^docs\//, ""))) broken.push(`${file}: ${href} (no such file)`);
        continue;
      }
      if (!anchor || !target.endsWith(".md")) continue;
      const heads = [...readFileSync(join(ROOT, target), "utf8").matchAll(/^#+ (.+)$/gm)].map((h) => slug(h[1]!));
      if (!heads.includes(anchor)) broken.push(`${file}: ${href} (no heading #${anchor})`);
    }
  }
  expect(broken).toEqual([]);
});
