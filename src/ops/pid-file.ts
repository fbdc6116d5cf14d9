/**
 * --pid-file: the process id for `kill -HUP $(cat FILE)` (signal this ws-emit, not every one on
 * the host as `pidof` would). Written by the process that takes signals (the supervisor under
 * --workers), atomically; removed at exit if it still holds our pid.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

export function writePidFile(path: string): { ok: true } | { ok: false; error: string } {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "its directory does not exist" : code === "EACCES" ? "permission denied" : (e as Error).message;
    return { ok: false, error: `--pid-file: cannot write ${path}: ${why}` };
  }
  process.on("exit", () => {
    try {
      if (readFileSync(path, "utf8").trim() === String(process.pid)) rmSync(path, { force: true });
    } catch {}
  });
  return { ok: true };
}
