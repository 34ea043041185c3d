import { describe, expect, it } from '@jest/globals';
import { spreadRetry } from './drain.js';

describe('spreadRetry', () => {
  it('gives each of n streams its own slot of the window, in order', () => {
    const n = 1_000;
    const values = Array.from({ length: n }, (_, i) => spreadRetry(i, n, 10_000));
    for (let i = 0; i < n; i++) {
      expect(values[i]).toBeGreaterThanOrEqual(i * 10);
      expect(values[i]).toBeLessThan((i + 1) * 10);
    }
  });

  it('spreads reconnects evenly: every second of the window gets its share', () => {
    const n = 5_000;
    const perSecond = new Array<number>(10).fill(0);
    for (let i = 0; i < n; i++) perSecond[Math.floor(spreadRetry(i, n, 10_000) / 1_000)]++;
    expect(perSecond).toEqual(new Array<number>(10).fill(500));
  });

  it('uses the random point inside the slot', () => {
    expect(spreadRetry(3, 4, 1_000, () => 0)).toBe(750);
    expect(spreadRetry(3, 4, 1_000, () => 0.999)).toBe(999);
    expect(spreadRetry(0, 0, 1_000, () => 0.5)).toBe(500);
  });
});
