// The one "poll until" of the test suites: no app import, so process and Redis helpers can use it too.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` (sync or async) until it gives a value other than undefined/false, or fails after `timeoutMs`.
 * `what` names the wait in the failure; a function is asked at failure time (for the last value seen).
 */
export async function eventually<T>(
  check: () => T | undefined | false | PromiseLike<T | undefined | false>,
  timeoutMs = 5_000,
  what: string | (() => string) = 'condition',
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await sleep(intervalMs);
  }
}

/** `eventually` with the page and admin checks' argument order and a longer default (browsers are slow to start). */
export function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 8_000): Promise<T> {
  return eventually(check, timeoutMs, what);
}
