import { describe, expect, it } from '@jest/globals';
import { decideRetry, type RetryContext, type StreamEnd } from './retry-policy.js';

const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({
  failures: 0,
  retryMs: 3_000,
  maxDelayMs: 30_000,
  canRefreshToken: false,
  random: () => 0.5,
  ...over,
});

describe('decideRetry', () => {
  it.each<[string, StreamEnd, number, boolean]>([
    ['a topic change reopens at once', { kind: 'resubscribe' }, 0, false],
    ['max-age comes back at once (Herald already jittered it)', { kind: 'server-close', reason: 'max-age' }, 0, false],
    ['draining spreads over one retry', { kind: 'server-close', reason: 'draining' }, 1_500, false],
    ['kicked waits one retry', { kind: 'server-close', reason: 'kicked' }, 3_000, false],
    ['an unknown reason waits one retry', { kind: 'server-close', reason: 'maintenance' }, 3_000, false],
    ['slow-consumer backs off', { kind: 'server-close', reason: 'slow-consumer' }, 1_500, true],
    ['a network error backs off', { kind: 'network', message: 'ECONNRESET' }, 1_500, true],
    ['a body that ends without close backs off', { kind: 'ended' }, 1_500, true],
    ['a silent stream backs off', { kind: 'idle-timeout' }, 1_500, true],
    ['a 500 backs off', { kind: 'http', status: 500, retryAfterMs: undefined, message: '' }, 1_500, true],
    [
      'a 503 waits Retry-After (+ up to 10 %)',
      { kind: 'http', status: 503, retryAfterMs: 30_000, message: '' },
      31_500,
      true,
    ],
    [
      'a 429 waits Retry-After (+ up to 10 %)',
      { kind: 'http', status: 429, retryAfterMs: 2_000, message: '' },
      2_100,
      true,
    ],
    [
      'a 503 without Retry-After backs off',
      { kind: 'http', status: 503, retryAfterMs: undefined, message: '' },
      1_500,
      true,
    ],
  ])('%s', (_name, end, delayMs, failure) => {
    const decision = decideRetry(end, ctx());
    expect(decision).toMatchObject({ action: 'retry', delayMs, failure });
  });

  it('grows the backoff with consecutive failures up to the cap', () => {
    const end: StreamEnd = { kind: 'network', message: 'down' };
    const delays = [0, 1, 2, 3, 4].map((failures) => {
      const decision = decideRetry(end, ctx({ failures, retryMs: 1_000, maxDelayMs: 10_000, random: () => 0.999999 }));
      return decision.action === 'retry' ? decision.delayMs : -1;
    });
    expect(delays).toEqual([999, 1_999, 3_999, 7_999, 9_999]);
  });

  it('keeps a floor under the backoff when Herald says retry: 0', () => {
    const decision = decideRetry({ kind: 'network', message: 'down' }, ctx({ retryMs: 0, random: () => 0.999999 }));
    expect(decision).toMatchObject({ action: 'retry', delayMs: 99 });
  });

  it('never waits less than Retry-After, whatever the backoff state', () => {
    const end: StreamEnd = { kind: 'http', status: 503, retryAfterMs: 5_000, message: '' };
    const decision = decideRetry(end, ctx({ failures: 0, random: () => 0 }));
    expect(decision).toMatchObject({ action: 'retry', delayMs: 5_000 });
  });

  it.each([400, 403, 404, 406])('stops on %d: retrying cannot fix it', (status) => {
    const decision = decideRetry({ kind: 'http', status, retryAfterMs: undefined, message: 'no' }, ctx());
    expect(decision).toMatchObject({ action: 'stop', error: { status, fatal: true } });
  });

  it('stops on a 401 with a fixed token, retries with a token function', () => {
    const end: StreamEnd = { kind: 'http', status: 401, retryAfterMs: undefined, message: 'token required' };
    expect(decideRetry(end, ctx())).toMatchObject({ action: 'stop', error: { kind: 'auth', status: 401 } });
    expect(decideRetry(end, ctx({ canRefreshToken: true }))).toMatchObject({ action: 'retry', failure: true });
  });

  it('reconnects at once with a fresh token after token-expired, stops without one', () => {
    const end: StreamEnd = { kind: 'server-close', reason: 'token-expired' };
    expect(decideRetry(end, ctx({ canRefreshToken: true }))).toEqual({ action: 'retry', delayMs: 0, failure: false });
    expect(decideRetry(end, ctx())).toMatchObject({ action: 'stop', error: { kind: 'auth', fatal: true } });
  });

  it('reports network trouble as a non-fatal error', () => {
    const decision = decideRetry({ kind: 'network', message: 'ECONNREFUSED' }, ctx());
    expect(decision).toMatchObject({ error: { kind: 'network', message: 'ECONNREFUSED', fatal: false } });
  });
});
