/** The config file format: the seed's `/etc/default/ws-emit`. Pure. */

/**
 * Parse the seed's `/etc/default/ws-emit` format: `KEY="value"` or `KEY=value` lines,
 * `#` comments, optional `export `. Returns the map or the issues found.
 */
export function parseEnvFile(text: string, fileName: string): { ok: true; values: Record<string, string>; lines: Record<string, number> } | { ok: false; issues: string[] } {
  const values: Record<string, string> = {};
  const lines: Record<string, number> = {};
  const issues: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(t);
    if (!m) {
      issues.push(`${fileName}:${i + 1}: expected KEY="value"`);
      return;
    }
    let v = m[2]!;
    const q = v[0];
    if (q === '"' || q === "'") {
      // The closing quote: the first unescaped one (double quotes take backslash escapes).
      let end = -1;
      for (let j = 1; j < v.length; j++) {
        if (q === '"' && v[j] === "\\") j++;
        else if (v[j] === q) {
          end = j;
          break;
        }
      }
      if (end < 0) {
        issues.push(`${fileName}:${i + 1}: unterminated quote`);
        return;
      }
      const rest = v.slice(end + 1).trim();
      // A comment after the value is fine here (systemd's EnvironmentFile= may not agree: keep
      // comments on their own lines in a file the unit also reads).
      if (rest !== "" && !rest.startsWith("#")) {
        // The value is not shown: it may be a secret.
        issues.push(`${fileName}:${i + 1}: unexpected text after the closing quote (a quote inside the value? use the other quote kind or \\")`);
        return;
      }
      v = v.slice(1, end);
      if (q === '"') v = v.replace(/\\(["\\$`])/g, "$1");
    } else v = v.replace(/\s+#.*$/, "");
    values[m[1]!] = v;
    lines[m[1]!] = i + 1;
  });
  return issues.length ? { ok: false, issues } : { ok: true, values, lines };
}
