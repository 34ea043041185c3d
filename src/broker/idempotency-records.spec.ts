import { describe, expect, it } from '@jest/globals';
import { IdempotencyRecords, recordedIds } from './idempotency-records.js';

const record = (expiresAt: number, fingerprint = 'f') => ({
  fingerprint,
  epoch: 'e1',
  firstSeq: 5,
  count: 3,
  expiresAt,
});

describe('IdempotencyRecords', () => {
  it('finds a live record and drops an expired one on lookup', () => {
    const records = new IdempotencyRecords(10);
    records.remember('a', record(1_000));
    expect(records.find('a', 999)?.fingerprint).toBe('f');
    expect(records.find('a', 1_000)).toBeUndefined();
    expect(records.size).toBe(0);
  });

  it('sweeps expired records from the front and stops at the first live one', () => {
    const records = new IdempotencyRecords(10);
    for (const [key, at] of [
      ['a', 100],
      ['b', 200],
      ['c', 300],
    ] as const)
      records.remember(key, record(at));
    records.sweep(250);
    expect(records.size).toBe(1);
    expect(records.find('c', 250)).toBeDefined();
  });

  it('forgets the oldest record past its bound, and counts it', () => {
    const records = new IdempotencyRecords(2);
    records.remember('a', record(100));
    records.remember('b', record(200));
    records.remember('c', record(300));
    expect(records.size).toBe(2);
    expect(records.evicted).toBe(1);
    expect(records.find('a', 0)).toBeUndefined();
    expect(records.find('b', 0)).toBeDefined();
  });

  it('gives back the consecutive ids of a recorded publish', () => {
    expect(recordedIds(record(0))).toEqual(['e1-5', 'e1-6', 'e1-7']);
  });
});
