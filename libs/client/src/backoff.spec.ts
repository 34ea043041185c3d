import { describe, expect, it } from '@jest/globals';
import { fullJitterDelay, parseRetryAfter } from './backoff.js';

describe('fullJitterDelay', () => {
  const almostOne = (): number => 0.999999;

  it('doubles the ceiling per attempt from the base and stops at the cap', () => {
    const schedule = [0, 1, 2, 3, 4, 5, 6, 40].map((attempt) => fullJitterDelay(attempt, 1_000, 30_000, almostOne));
    expect(schedule).toEqual([999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('is uniform from zero: a random of 0 reconnects at once, 0.5 waits half the ceiling', () => {
    expect(fullJitterDelay(3, 1_000, 30_000, () => 0)).toBe(0);
    expect(fullJitterDelay(3, 1_000, 30_000, () => 0.5)).toBe(4_000);
  });

  it('spreads a crowd over the whole window', () => {
    let seed = 42;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const delays = Array.from({ length: 2_000 }, () => fullJitterDelay(2, 500, 30_000, random));
    expect(Math.min(...delays)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeGreaterThan(1_900);
    expect(Math.max(...delays)).toBeLessThan(2_000);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(mean).toBeGreaterThan(900);
    expect(mean).toBeLessThan(1_100);
  });

  it('treats a negative attempt as the first', () => {
    expect(fullJitterDelay(-3, 1_000, 30_000, almostOne)).toBe(999);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');

  it.each([
    ['30', 30_000],
    ['0', 0],
    [' 5 ', 5_000],
    ['Tue, 01 Jan 2030 00:00:10 GMT', 10_000],
    ['Mon, 31 Dec 2029 23:59:00 GMT', 0],
  ])('reads %j as %d ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it.each([[null], [undefined], [''], ['soon'], ['-5'], ['1.5']])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
