import { describe, expect, it } from '@jest/globals';
import { formatEventId, isValidEpoch, newEpoch, parseEventId } from './event-id.js';

describe('parseEventId', () => {
  it.each([
    ['abc-0', { epoch: 'abc', seq: 0 }],
    ['abc-1', { epoch: 'abc', seq: 1 }],
    ['mwtm6owhb8wp-123456', { epoch: 'mwtm6owhb8wp', seq: 123456 }],
    ['a-9007199254740991', { epoch: 'a', seq: 9007199254740991 }],
  ])('parses %j', (input, expected) => {
    expect(parseEventId(input)).toEqual(expected);
  });

  it.each([
    ['empty', ''],
    ['no seq', 'abc-'],
    ['no epoch', '-5'],
    ['no dash', 'abc5'],
    ['two dashes', 'a-b-5'],
    ['leading zero', 'abc-01'],
    ['negative', 'abc--1'],
    ['upper case epoch', 'ABC-1'],
    ['float', 'abc-1.5'],
    ['exponent', 'abc-1e3'],
    ['beyond safe integer', 'abc-9007199254740993'],
    ['seventeen digits', 'abc-12345678901234567'],
    ['epoch too long', `${'a'.repeat(33)}-1`],
    ['newline', 'abc-1\n'],
    ['CR', 'abc\r-1'],
    ['NUL', 'abc-1\0'],
    ['unicode digits', 'abc-١'],
    ['whitespace', ' abc-1'],
    ['huge', 'a'.repeat(10_000)],
  ])('rejects %s', (_name, input) => {
    expect(parseEventId(input)).toBeNull();
  });

  it.each([[undefined], [null], [42], [{}], [['abc-1']]])('rejects non-strings: %j', (input) => {
    expect(parseEventId(input)).toBeNull();
  });

  it('round-trips formatEventId', () => {
    expect(parseEventId(formatEventId('q1w2', 77))).toEqual({ epoch: 'q1w2', seq: 77 });
  });
});

describe('newEpoch', () => {
  it('is a valid epoch and differs between calls', () => {
    const a = newEpoch();
    const b = newEpoch();
    expect(isValidEpoch(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(a).not.toContain('-');
  });

  it('is time-ordered for different times', () => {
    const early = newEpoch(1_000_000, () => 0.99);
    const late = newEpoch(2_000_000_000, () => 0);
    expect(early.length <= late.length).toBe(true);
  });
});
