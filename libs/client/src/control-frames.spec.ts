import { describe, expect, it } from '@jest/globals';
import { closeReasonOf, presenceInfoOf, resetInfoOf } from './control-frames.js';

describe('presenceInfoOf', () => {
  it.each([
    ['{"topic":"trucks/42","subscribers":3}', { topic: 'trucks/42', subscribers: 3 }],
    ['{"topic":"a","subscribers":0,"extra":true}', { topic: 'a', subscribers: 0 }],
  ])('reads %s', (data, info) => {
    expect(presenceInfoOf(data)).toEqual(info);
  });

  it.each([
    '',
    'null',
    '3',
    '"trucks/42"',
    '[]',
    '{"topic":"a"}',
    '{"subscribers":1}',
    '{"topic":"a","subscribers":-1}',
    '{"topic":"a","subscribers":1.5}',
    '{"topic":"a","subscribers":"3"}',
    '{"topic":"a","subscribers":1e300}',
    '{"topic":"","subscribers":1}',
    '{"topic":"a b","subscribers":1}',
    `{"topic":"${'x'.repeat(257)}","subscribers":1}`,
    '{"topic":"__proto__\\n","subscribers":1}',
    '{"topic":"a","subscribers":1',
  ])('refuses %s', (data) => {
    expect(presenceInfoOf(data)).toBeUndefined();
  });
});

describe('closeReasonOf and resetInfoOf', () => {
  it.each([
    ['{"reason":"kicked"}', 'kicked'],
    ['{"reason":7}', 'unknown'],
    ['null', 'unknown'],
    ['not json', 'unknown'],
  ])('close %s is %s', (data, reason) => {
    expect(closeReasonOf(data)).toBe(reason);
  });

  it.each([
    ['{"reason":"history-lost","lastEventId":"e1-9"}', { reason: 'history-lost', lastEventId: 'e1-9' }],
    ['{"lastEventId":5}', { reason: 'history-lost', lastEventId: 'e1-1' }],
    ['"reset"', { reason: 'history-lost', lastEventId: 'e1-1' }],
    ['{', { reason: 'history-lost', lastEventId: 'e1-1' }],
  ])('reset %s', (data, info) => {
    expect(resetInfoOf(data, 'e1-1')).toEqual(info);
  });
});
