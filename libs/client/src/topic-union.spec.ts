import { describe, expect, it } from '@jest/globals';
import { TopicUnion, type UnionEntry } from './topic-union.js';

type Tab = 'tab-a' | 'tab-b' | 'tab-c';

const entry = (owner: Tab, id: number, topics: string[], extra: Partial<UnionEntry<Tab>> = {}): UnionEntry<Tab> => ({
  owner,
  id,
  topics,
  types: null,
  since: undefined,
  ...extra,
});

const routed = (union: TopicUnion<Tab>, topic: string, type = 'message', ts = 1_000): string[] =>
  [...union.route({ topic, type, ts })].map((e) => `${e.owner}#${e.id}`).sort();

describe('TopicUnion', () => {
  it('keeps the sorted union of every subscription and says when it changed', () => {
    const union = new TopicUnion<Tab>();
    expect(union.add(entry('tab-a', 1, ['trucks/2', 'trucks/1']))).toBe(true);
    expect(union.add(entry('tab-b', 1, ['trucks/1']))).toBe(false);
    expect(union.add(entry('tab-b', 2, ['trucks/3', 'trucks/3']))).toBe(true);
    expect(union.topics()).toEqual(['trucks/1', 'trucks/2', 'trucks/3']);
    expect(union.size).toBe(3);
  });

  it('shrinks only when the last subscriber of a topic leaves', () => {
    const union = new TopicUnion<Tab>();
    union.add(entry('tab-a', 1, ['t/1', 't/2']));
    union.add(entry('tab-b', 1, ['t/1']));
    expect(union.remove('tab-a', 1)).toBe(true);
    expect(union.topics()).toEqual(['t/1']);
    expect(union.remove('tab-a', 1)).toBe(false);
    expect(union.remove('tab-b', 1)).toBe(true);
    expect(union.topics()).toEqual([]);
  });

  it('names each consumer with a topic once, whatever its filters (presence goes per tab, not per subscription)', () => {
    const union = new TopicUnion<Tab>();
    union.add(entry('tab-a', 1, ['t/1']));
    union.add(entry('tab-a', 2, ['t/1', 't/2'], { types: new Set(['position']) }));
    union.add(entry('tab-b', 1, ['t/2']));
    expect([...union.owners('t/1')]).toEqual(['tab-a']);
    expect([...union.owners('t/2')].sort()).toEqual(['tab-a', 'tab-b']);
    expect(union.owners('t/3').size).toBe(0);
  });

  it('drops everything of a tab that left', () => {
    const union = new TopicUnion<Tab>();
    union.add(entry('tab-a', 1, ['t/1']));
    union.add(entry('tab-a', 2, ['t/2']));
    union.add(entry('tab-b', 1, ['t/2']));
    expect(union.removeOwner('tab-a')).toBe(true);
    expect(union.topics()).toEqual(['t/2']);
    expect(routed(union, 't/2')).toEqual(['tab-b#1']);
    expect(union.removeOwner('tab-a')).toBe(false);
    expect(union.removeOwner('tab-c')).toBe(false);
  });

  it('replacing a subscription with the same id updates its topics', () => {
    const union = new TopicUnion<Tab>();
    union.add(entry('tab-a', 1, ['t/1']));
    expect(union.add(entry('tab-a', 1, ['t/2']))).toBe(true);
    expect(union.topics()).toEqual(['t/2']);
    expect(routed(union, 't/1')).toEqual([]);
    expect(union.add(entry('tab-a', 1, ['t/2']))).toBe(false);
  });

  it('routes an event to exactly the subscriptions of its topic', () => {
    const union = new TopicUnion<Tab>();
    union.add(entry('tab-a', 1, ['trucks/1', 'trucks/2']));
    union.add(entry('tab-b', 1, ['trucks/2']));
    union.add(entry('tab-b', 2, ['trucks/3']));
    union.add(entry('tab-c', 1, ['trucks/2', 'trucks/3']));
    expect(routed(union, 'trucks/1')).toEqual(['tab-a#1']);
    expect(routed(union, 'trucks/2')).toEqual(['tab-a#1', 'tab-b#1', 'tab-c#1']);
    expect(routed(union, 'trucks/3')).toEqual(['tab-b#2', 'tab-c#1']);
    expect(routed(union, 'trucks/4')).toEqual([]);
    expect(routed(union, 'trucks')).toEqual([]);
  });

  it('honours type filters and a subscription cut-off', () => {
    const union = new TopicUnion<Tab>();
    union.add(entry('tab-a', 1, ['t'], { types: new Set(['position']) }));
    union.add(entry('tab-b', 1, ['t'], { since: 5_000 }));
    expect(routed(union, 't', 'position', 4_999)).toEqual(['tab-a#1']);
    expect(routed(union, 't', 'status', 5_000)).toEqual(['tab-b#1']);
    expect(routed(union, 't', 'position', 5_000)).toEqual(['tab-a#1', 'tab-b#1']);
    expect([...union.types()]).toEqual(['position']);
  });

  it('tells which topics would be new', () => {
    const union = new TopicUnion<Tab>();
    union.add(entry('tab-a', 1, ['a', 'b']));
    expect(union.newTopics(['b', 'c', 'c', 'd'])).toEqual(['c', 'd']);
  });
});
