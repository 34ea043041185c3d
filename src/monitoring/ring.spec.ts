import { describe, expect, it } from '@jest/globals';
import { Ring } from './ring.js';

describe('Ring', () => {
  it('keeps the newest items in order and never grows past its capacity', () => {
    const ring = new Ring<number>(3);
    expect(ring.latest()).toBeUndefined();
    expect(ring.toArray()).toEqual([]);
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect(ring.size).toBe(3);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.latest()).toBe(5);
    expect(ring.first((n) => n >= 4)).toBe(4);
    expect(ring.first((n) => n > 5)).toBeUndefined();
  });
});
