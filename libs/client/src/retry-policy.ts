import { fullJitterDelay } from './backoff.js';
import type { HeraldError } from './types.js';

/** How one connection attempt ended. */
export type StreamEnd =
  /** The topics changed: reopen at once with the last id. */
  | { kind: 'resubscribe' }
  /** Herald said `event: close` with this reason. */
  | { kind: 'server-close'; reason: string }
  /** The body ended without `event: close` (a proxy, a crash). */
  | { kind: 'ended' }
  | { kind: 'network'; message: string }
  /** Nothing arrived, not even a heartbeat, for the idle timeout. */
  | { kind: 'idle-timeout' }
  | { kind: 'http'; status: number; retryAfterMs: number | undefined; message: string }
  /** 200 but not an event stream, or a body that cannot be read. */
  | { kind: 'protocol'; message: string };

export interface RetryContext {
  /** Failed attempts in a row (0 after a stream that worked). */
  failures: number;
  /** Herald's `retry:` (or the initial value until one arrived). */
  retryMs: number;
  maxDelayMs: number;
  /** A token function can mint a new token, so a 401 or an expired token is worth another try. */
  canRefreshToken: boolean;
  random: () => number;
}

/** A floor under the backoff base, so a `retry: 0` cannot turn a dead server into a hot loop. */
const MIN_BACKOFF_BASE_MS = 100;

export type RetryDecision =
  { action: 'retry'; delayMs: number; failure: boolean; error?: HeraldError } | { action: 'stop'; error: HeraldError };

/**
 * When to reconnect after `end`. Herald's close reasons are not failures:
 * `max-age` comes back at once (Herald already spread it), `draining` spreads
 * the herd over one `retry:`, `kicked` waits one `retry:`. Network trouble
 * and 5xx back off exponentially with full jitter up to the cap; 503 and 429
 * wait at least `Retry-After`. Errors a retry cannot fix stop the stream.
 */
export function decideRetry(end: StreamEnd, ctx: RetryContext): RetryDecision {
  const base = Math.max(ctx.retryMs, MIN_BACKOFF_BASE_MS);
  const backoff = (): number => fullJitterDelay(ctx.failures, base, ctx.maxDelayMs, ctx.random);
  switch (end.kind) {
    case 'resubscribe':
      return { action: 'retry', delayMs: 0, failure: false };
    case 'server-close':
      switch (end.reason) {
        case 'max-age':
          return { action: 'retry', delayMs: 0, failure: false };
        case 'draining':
          return { action: 'retry', delayMs: Math.floor(ctx.random() * ctx.retryMs), failure: false };
        case 'slow-consumer':
          return { action: 'retry', delayMs: backoff(), failure: true };
        case 'token-expired':
          if (ctx.canRefreshToken) return { action: 'retry', delayMs: 0, failure: false };
          return { action: 'stop', error: { kind: 'auth', message: 'the subscriber token expired', fatal: true } };
        default:
          return { action: 'retry', delayMs: ctx.retryMs, failure: false };
      }
    case 'ended':
    case 'idle-timeout':
    case 'network':
    case 'protocol':
      return { action: 'retry', delayMs: backoff(), failure: true, error: endError(end) };
    case 'http':
      return httpDecision(end, ctx, backoff);
  }
}

function httpDecision(
  end: Extract<StreamEnd, { kind: 'http' }>,
  ctx: RetryContext,
  backoff: () => number,
): RetryDecision {
  const error: HeraldError = { kind: 'http', status: end.status, message: end.message, fatal: false };
  if (end.status === 503 || end.status === 429) {
    if (end.retryAfterMs === undefined) return { action: 'retry', delayMs: backoff(), failure: true, error };
    // At least Retry-After, plus up to 10 % so refused clients do not return in one wave.
    const spread = Math.floor(ctx.random() * end.retryAfterMs * 0.1);
    return { action: 'retry', delayMs: end.retryAfterMs + spread, failure: true, error };
  }
  if (end.status >= 500) return { action: 'retry', delayMs: backoff(), failure: true, error };
  if (end.status === 401) {
    const auth: HeraldError = { ...error, kind: 'auth' };
    if (ctx.canRefreshToken) return { action: 'retry', delayMs: backoff(), failure: true, error: auth };
    return { action: 'stop', error: { ...auth, fatal: true } };
  }
  return {
    action: 'stop',
    error: { ...error, kind: end.status === 403 ? 'auth' : 'http', fatal: true },
  };
}

function endError(end: Extract<StreamEnd, { kind: 'ended' | 'idle-timeout' | 'network' | 'protocol' }>): HeraldError {
  switch (end.kind) {
    case 'ended':
      return { kind: 'network', message: 'the stream ended without a close frame', fatal: false };
    case 'idle-timeout':
      return { kind: 'network', message: 'no data or heartbeat within the idle timeout', fatal: false };
    case 'network':
      return { kind: 'network', message: end.message, fatal: false };
    case 'protocol':
      return { kind: 'protocol', message: end.message, fatal: false };
  }
}
