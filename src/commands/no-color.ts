/**
 * Imported first by the CLI: colours only on a terminal. citty and consola decide at import
 * time from the environment, not from whether output is a TTY, so `ws-emit --help | less` and
 * logs under systemd would carry escape codes. FORCE_COLOR still wins.
 */
if (!process.stdout.isTTY && process.env.FORCE_COLOR === undefined) process.env.NO_COLOR ??= "1";
