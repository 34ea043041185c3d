import { describe, expect, it } from '@jest/globals';
import { ServerClock } from './server-clock.js';

describe('ServerClock', () => {
  it('knows nothing before a sample', () => {
    expect(new ServerClock().toServer(1_000)).toBeUndefined();
  });

  it('uses the fastest transit: never later than the true server time', () => {
    const clock = new ServerClock();
    // The server runs 10 s behind; transits of 40, 5 and 300 ms.
    clock.observe(100_040, 90_000);
    clock.observe(100_505, 90_500);
    clock.observe(101_300, 91_000);
    expect(clock.toServer(102_000)).toBe(102_000 - 10_005);
    expect(clock.toServer(102_000)!).toBeLessThanOrEqual(92_000);
  });

  it('falls back to the Date header (seconds, rounded down) and prefers event samples', () => {
    const clock = new ServerClock();
    clock.observeDateHeader(50_700, new Date(40_000).toUTCString());
    expect(clock.toServer(51_000)).toBe(40_300);
    clock.observe(51_000, 40_990);
    expect(clock.toServer(51_000)).toBe(40_990);
  });

  it('ignores unreadable input', () => {
    const clock = new ServerClock();
    clock.observeDateHeader(1, 'yesterday');
    clock.observeDateHeader(1, null);
    clock.observe(1, Number.NaN);
    expect(clock.toServer(5)).toBeUndefined();
  });
});
