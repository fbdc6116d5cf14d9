/** An error that maps to an HTTP response `{"error":code,"message":message, ...extra}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers?: Record<string, string>,
    /** More fields for the JSON body, e.g. a refused token's `reason`. */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Configuration problems, all of them at once; the CLI prints them and exits 2. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join("\n"));
  }
}

export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
