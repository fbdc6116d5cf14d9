/**
 * A client's frames must apply in the order sent, yet a join may wait for the secret store
 * (Redis) or the authorizer: `join` then `leave` sent back to back must end outside the room.
 * `handle` returns a promise only when it went async; frames that arrive meanwhile wait in a
 * per-connection backlog (at most `max`, then `overflow`) and run, in order, once it settles.
 * Synchronous frames with nothing pending run at once (no cost on the common path).
 */
/** Frames a client may send while one of its joins is still being checked. */
export const MAX_BACKLOG = 256;

export interface InOrder<K extends object, T> {
  push(key: K, item: T): void;
}

export function createInOrder<K extends object, T>(
  handle: (key: K, item: T) => Promise<unknown> | void,
  max: number,
  overflow: (key: K) => void,
): InOrder<K, T> {
  const backlogs = new WeakMap<K, T[]>();
  function runFrom(key: K, items: T[]): void {
    for (let i = 0; i < items.length; i++) {
      const p = handle(key, items[i]!);
      if (p) {
        backlogs.set(key, items.slice(i + 1));
        // `handle` reports its own errors; settling is all that matters here.
        p.then(
          () => resume(key),
          () => resume(key),
        );
        return;
      }
    }
  }
  function resume(key: K): void {
    const rest = backlogs.get(key) ?? [];
    backlogs.delete(key);
    runFrom(key, rest);
  }
  return {
    push(key, item) {
      const backlog = backlogs.get(key);
      if (backlog === undefined) return runFrom(key, [item]);
      if (backlog.length >= max) return overflow(key);
      backlog.push(item);
    },
  };
}
