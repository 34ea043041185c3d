import { describe, expect, it } from '@jest/globals';
import { DeliveryError } from './delivery-error.js';
import { backoffMs, pauseMs, RetryingSender } from './retrying-sender.js';

describe('backoffMs and pauseMs', () => {
  it('doubles from 500 ms with ±25 % jitter, up to 30 s', () => {
    expect([1, 2, 3].map((n) => backoffMs(n, 0.5))).toEqual([500, 1000, 2000]);
    expect(backoffMs(1, 0)).toBe(375);
    expect(backoffMs(1, 1)).toBe(625);
    expect(backoffMs(20, 0.5)).toBe(30_000);
  });

  it.each([
    ['a plain error', new Error('boom'), 500],
    ['no Retry-After', new DeliveryError('HTTP 503', true), 500],
    ['a Retry-After shorter than the backoff', new DeliveryError('HTTP 429', true, 200), 500],
    ['a Retry-After longer than the backoff', new DeliveryError('HTTP 429', true, 3_000), 3_000],
    ['a Retry-After past a minute', new DeliveryError('HTTP 503', true, 3_600_000), 60_000],
  ])('waits the backoff or the Retry-After, whichever is longer: %s', (_what, error, expected) => {
    expect(pauseMs(1, error, 0.5)).toBe(expected);
  });
});

describe('RetryingSender', () => {
  it('retries retryable failures and reports each attempt; stops at once on one retrying cannot fix', async () => {
    const sender = new RetryingSender({ retries: 3, timeoutMs: 1_000 });
    const seen: string[] = [];
    const observer = {
      started: (attempt: number) => seen.push(`start ${attempt}`),
      failed: (error: unknown) => seen.push(`fail ${(error as Error).message}`),
    };
    let calls = 0;
    const flaky = await sender.send(async () => {
      if (++calls < 2) throw new DeliveryError('HTTP 500', true);
    }, observer);
    expect(flaky).toEqual({ delivered: true, attempts: 2 });
    expect(seen).toEqual(['start 1', 'fail HTTP 500', 'start 2']);

    const gone = await sender.send(async () => {
      throw new DeliveryError('HTTP 410', false);
    });
    expect(gone).toMatchObject({ delivered: false, attempts: 1, error: { message: 'HTTP 410' } });
  });

  it('gives up after its retries, and at the timeout of an attempt that ignores its signal', async () => {
    const sender = new RetryingSender({ retries: 0, timeoutMs: 100 });
    let signal: AbortSignal | undefined;
    const started = Date.now();
    const outcome = await sender.send((given) => {
      signal = given;
      return new Promise<void>(() => undefined);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(outcome).toMatchObject({ delivered: false, attempts: 1, error: { message: 'timed out after 100 ms' } });
    expect(signal?.aborted).toBe(true);
  });

  it('follows a Retry-After longer than the backoff', async () => {
    const sender = new RetryingSender({ retries: 1, timeoutMs: 1_000 });
    const at: number[] = [];
    await sender.send(async () => {
      at.push(Date.now());
      if (at.length === 1) throw new DeliveryError('HTTP 429', true, 1_000);
    });
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(990);
  });

  it('close() ends the attempt in flight and the pause before a retry', async () => {
    const sender = new RetryingSender({ retries: 5, timeoutMs: 60_000 });
    const hanging = sender.send(() => new Promise<void>(() => undefined));
    let pausing = 0;
    const retrying = sender.send(async () => {
      pausing++;
      throw new DeliveryError('HTTP 503', true, 60_000);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stopped = Date.now();
    sender.close();
    expect(await hanging).toMatchObject({ delivered: false, error: { message: 'Herald is shutting down' } });
    expect(await retrying).toMatchObject({ delivered: false, attempts: 1 });
    expect(pausing).toBe(1);
    expect(Date.now() - stopped).toBeLessThan(500);
  });
});
