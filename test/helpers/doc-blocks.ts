/** Fenced blocks of a markdown file, for the docs tests (test/e2e/docs*.test.ts). */

export interface Block {
  file: string;
  line: number;
  lang: string;
  marks: string[];
  code: string;
  /** Server args from the last `<!-- docs-test: server … -->` before the block, or null. */
  server: string[] | null;
}

/** Every fenced block of a markdown file, with its markers and the server directive in force. */
export function blocksOf(file: string, text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split("\n");
  let server: string[] | null = null;
  for (let i = 0; i < lines.length; i++) {
    const d = /^<!-- docs-test: server(.*?)-->$/.exec(lines[i]!);
    if (d) server = d[1]!.trim().split(/\s+/).filter(Boolean);
    const m = /^```(\w+)(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    out.push({ file, line: start + 1, lang: m[1]!, marks: m[2]!.trim().split(/\s+/).filter(Boolean), code: body.join("\n"), server });
  }
  return out;
}
