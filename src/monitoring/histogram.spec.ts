import { describe, expect, it } from '@jest/globals';
import { bucketDelta, bucketQuantile, cumulative } from './histogram.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];

describe('bucketQuantile', () => {
  it.each<{ name: string; q: number; counts: number[]; expected: number }>([
    { name: 'no observations', q: 0.99, counts: [0, 0, 0, 0, 0], expected: 0 },
    { name: 'all in the first bucket, median', q: 0.5, counts: [10, 0, 0, 0, 0], expected: 0.0005 },
    { name: 'interpolates inside the bucket', q: 0.75, counts: [0, 4, 0, 0, 0], expected: 0.001 + 0.009 * 0.75 },
    { name: 'p99 at the top edge of a bucket', q: 0.99, counts: [90, 9, 0, 1, 0], expected: 0.01 },
    { name: 'p99.5 in the slow tail', q: 0.995, counts: [90, 9, 0, 1, 0], expected: 0.1 + 0.9 * 0.5 },
    { name: 'p99 of a spread', q: 0.99, counts: [50, 30, 10, 10, 0], expected: 0.1 + 0.9 * 0.9 },
    { name: '+Inf answers the highest finite bound', q: 0.99, counts: [1, 0, 0, 0, 99], expected: 1 },
  ])('$name', ({ q, counts, expected }) => {
    expect(bucketQuantile(q, BOUNDS, counts)).toBeCloseTo(expected, 9);
  });

  it('turns per-bucket counts into cumulative `le` buckets and window deltas', () => {
    expect(cumulative([1, 2, 0, 3])).toEqual([1, 3, 3, 6]);
    expect(bucketDelta([5, 7, 9], [1, 7, 3])).toEqual([4, 0, 6]);
    expect(bucketDelta([5, 7], undefined)).toEqual([5, 7]);
  });
});
