/**
 * A dependency cannot serve the request now: the error filter answers 503
 * with `Retry-After: RETRY_AFTER_SECONDS` and `reply` as the message (the
 * error's own message may carry internals, such as a Redis error).
 */
export class ServiceUnavailableError extends Error {
  readonly reply: string = 'a dependency is unavailable; retry later';
}

/** The base class of one dependency's unavailable error: `class X extends unavailable('the event broker') {}`. */
export function unavailable(what: string): typeof ServiceUnavailableError {
  return class extends ServiceUnavailableError {
    override readonly reply = `${what} is unavailable; retry later`;
  };
}
