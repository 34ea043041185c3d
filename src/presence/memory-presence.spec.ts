import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryPresence } from './memory-presence.js';
import type { OccupancyTransition } from './occupancy-source.js';
import { memberKey } from './presence-tracker.js';

describe('MemoryPresence', () => {
  let presence: MemoryPresence;
  const seen: OccupancyTransition[] = [];
  const start = (graceMs: number): MemoryPresence => {
    presence = new MemoryPresence(graceMs);
    presence.onTransition((transition) => seen.push(transition));
    return presence;
  };
  afterEach(() => {
    presence.close();
    seen.length = 0;
  });

  it('counts streams per topic and per member; anonymous streams are counted, never listed', async () => {
    start(1_000);
    const ann = memberKey('ann', 'acme');
    presence.join('t', ann);
    presence.join('t', ann);
    presence.join('t', memberKey('bob', undefined));
    presence.join('t', undefined);
    presence.join('u', undefined);
    expect(await presence.counts(['t', 'u', 'none'])).toEqual([4, 1, 0]);
    const page = await presence.members('t', undefined, 10);
    expect(page).toMatchObject({ subscribers: 4, anonymous: 1, next: undefined });
    expect(page.members).toEqual([
      { key: '["ann","acme"]', connections: 2 },
      { key: '["bob",null]', connections: 1 },
    ]);
    const first = await presence.members('t', undefined, 1);
    expect(first.next).toBe('["ann","acme"]');
    expect((await presence.members('t', first.next, 1)).members).toEqual([{ key: '["bob",null]', connections: 1 }]);
    presence.leave('t', ann);
    presence.leave('t', ann);
    expect((await presence.members('t', undefined, 10)).members).toEqual([{ key: '["bob",null]', connections: 1 }]);
    expect(await presence.occupied('', undefined, 10)).toEqual(['t', 'u']);
    expect(await presence.occupied('t', undefined, 10)).toEqual(['t']);
    expect(await presence.occupied('', 't', 10)).toEqual(['u']);
  });

  it('occupied at 0 → 1; vacated only after the grace at zero; a return within the grace reports nothing', () => {
    start(1_000);
    presence.join('t', undefined);
    presence.join('t', undefined);
    expect(seen.map((t) => t.event)).toEqual(['occupied']);
    presence.leave('t', undefined);
    presence.leave('t', undefined);
    const zeroAt = Date.now();
    presence.sweep(zeroAt + 999);
    presence.join('t', undefined);
    presence.sweep(zeroAt + 5_000);
    expect(seen.map((t) => t.event)).toEqual(['occupied']);
    presence.leave('t', undefined);
    presence.sweep(Date.now() + 999);
    expect(seen).toHaveLength(1);
    presence.sweep(Date.now() + 1_001);
    expect(seen.map((t) => [t.event, t.topic])).toEqual([
      ['occupied', 't'],
      ['vacated', 't'],
    ]);
    presence.join('t', undefined);
    expect(seen.map((t) => t.event)).toEqual(['occupied', 'vacated', 'occupied']);
  });

  it('a throwing listener never reaches the stream that joined', () => {
    start(0);
    presence.onTransition(() => {
      throw new Error('listener bug');
    });
    expect(() => presence.join('t', undefined)).not.toThrow();
    expect(seen).toHaveLength(1);
  });
});
