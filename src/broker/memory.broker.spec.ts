import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { parseEventId } from '@herald/sse';
import { loadConfig } from '../config/herald-config.js';
import type { HeraldEvent } from './herald-event.js';
import { MemoryBroker } from './memory.broker.js';

function broker(env: Record<string, string> = {}): MemoryBroker {
  return new MemoryBroker(loadConfig({ ADMIN_TOKEN: 'x'.repeat(16), ...env }));
}

const seqs = (events: readonly HeraldEvent[]) => events.map((event) => event.seq);

describe('MemoryBroker', () => {
  let subject: MemoryBroker | undefined;
  afterEach(() => {
    subject?.onModuleDestroy();
    jest.useRealTimers();
  });

  it('assigns ids <epoch>-<seq> that increase across all topics', async () => {
    subject = broker();
    const [a] = await subject.publish([{ topic: 'a', type: 'message', data: 1 }]);
    const [b, c] = await subject.publish([
      { topic: 'b', type: 'message', data: 2 },
      { topic: 'a', type: 't', data: 3 },
    ]);
    expect([a, b, c].map((event) => parseEventId(event.id))).toEqual([
      { epoch: subject.epoch(), seq: 1 },
      { epoch: subject.epoch(), seq: 2 },
      { epoch: subject.epoch(), seq: 3 },
    ]);
  });

  it('counts the retained bytes (raw frames) as history fills, drops its oldest and expires', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    subject = broker({ HISTORY_SIZE: '3', HISTORY_TTL_MS: '10000' });
    const bytes = (events: readonly HeraldEvent[]): number =>
      events.reduce((sum, event) => sum + event.frame('raw').length, 0);
    const first = await subject.publish(
      ['a', 'a', 'b'].map((topic, i) => ({ topic, type: 'message', data: 'x'.repeat(i * 100) })),
    );
    expect(subject.historyBytes()).toBe(bytes(first));
    // Two more on `a`: its ring (3) drops its oldest one.
    const more = await subject.publish([0, 1].map(() => ({ topic: 'a', type: 'message', data: 'y'.repeat(50) })));
    expect(subject.historyBytes()).toBe(bytes([first[1], first[2], ...more]));
    jest.setSystemTime(1_000_000 + 10_001);
    jest.advanceTimersByTime(2_500);
    expect(subject.historyBytes()).toBe(0);
    expect(subject.historySize()).toBe(0);
  });

  it('replays after a cursor, merged across topics in id order, only the asked topics', async () => {
    subject = broker();
    const events = await subject.publish(
      ['a', 'b', 'c', 'a', 'b', 'c', 'a'].map((topic, i) => ({ topic, type: 'message', data: i })),
    );
    const result = await subject.replay(['a', 'b'], parseEventId(events[1].id));
    expect(result.reset).toBe(false);
    expect(seqs(result.events)).toEqual([4, 5, 7]);
    expect(result.head).toBe(events[6].id);
  });

  it('a null cursor replays nothing and is not a reset', async () => {
    subject = broker();
    await subject.publish([{ topic: 'a', type: 'message', data: 1 }]);
    const result = await subject.replay(['a'], null);
    expect(result).toMatchObject({ events: [], reset: false, headSeq: 1 });
  });

  it('latest: the newest retained event of each asked topic that has one, in id order, with the head', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    subject = broker({ HISTORY_TTL_MS: '1000' });
    await subject.publish(['a', 'b', 'a', 'c'].map((topic, i) => ({ topic, type: 'message', data: i })));
    expect(await subject.latest(['c', 'a', 'b', 'none'])).toMatchObject({ reset: false, headSeq: 4 });
    expect(seqs((await subject.latest(['c', 'a', 'b', 'none'])).events)).toEqual([2, 3, 4]);
    // Past the TTL nothing is retained, so nothing is the latest.
    jest.setSystemTime(1_001_001);
    expect((await subject.latest(['a', 'b', 'c'])).events).toEqual([]);
  });

  it('resets for another epoch, a seq ahead of head, or garbage', async () => {
    subject = broker();
    await subject.publish([{ topic: 'a', type: 'message', data: 1 }]);
    expect((await subject.replay(['a'], { epoch: 'other', seq: 0 })).reset).toBe(true);
    expect((await subject.replay(['a'], { epoch: subject.epoch(), seq: 2 })).reset).toBe(true);
    expect((await subject.replay(['a'], { epoch: '', seq: -1 })).reset).toBe(true);
    expect((await subject.replay(['a'], { epoch: subject.epoch(), seq: 0 })).reset).toBe(false);
  });

  it('keeps HISTORY_SIZE events per topic and resets a cursor older than what it kept', async () => {
    subject = broker({ HISTORY_SIZE: '3' });
    const events = await subject.publish(
      Array.from({ length: 6 }, (_, i) => ({ topic: 'a', type: 'message', data: i })),
    );
    await subject.publish([{ topic: 'b', type: 'message', data: 'b' }]);
    expect(subject.historySize()).toBe(4);
    // Seqs 1..3 were dropped from topic a: resuming from 2 would skip 3.
    expect((await subject.replay(['a'], parseEventId(events[1].id))).reset).toBe(true);
    // Resuming from 3 loses nothing: 4, 5, 6 are kept.
    expect(seqs((await subject.replay(['a'], parseEventId(events[2].id))).events)).toEqual([4, 5, 6]);
    // Topic b lost nothing, so an old cursor is exact there.
    expect(seqs((await subject.replay(['b'], parseEventId(events[0].id))).events)).toEqual([7]);
  });

  it('drops history older than HISTORY_TTL_MS and resets cursors that needed it', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    subject = broker({ HISTORY_TTL_MS: '1000' });
    const [old] = await subject.publish([{ topic: 'a', type: 'message', data: 'old' }]);
    jest.setSystemTime(1_000_600);
    const [recent] = await subject.publish([{ topic: 'a', type: 'message', data: 'recent' }]);
    jest.setSystemTime(1_001_200);
    const fromStart = await subject.replay(['a'], { epoch: subject.epoch(), seq: 0 });
    expect(fromStart.reset).toBe(true);
    expect(seqs((await subject.replay(['a'], parseEventId(old.id))).events)).toEqual([recent.seq]);
    // The sweeper forgets a topic whose whole history expired; a cursor from before it resets.
    jest.setSystemTime(1_002_000);
    jest.advanceTimersByTime(1_000);
    expect(subject.historySize()).toBe(0);
    expect((await subject.replay(['a'], parseEventId(old.id))).reset).toBe(true);
    expect((await subject.replay(['a'], parseEventId(recent.id))).reset).toBe(false);
  });

  it('emits each publish on the live feed once, in id order, after it is in history', async () => {
    subject = broker();
    const seen: number[] = [];
    let replayedAtEmit = -1;
    const stop = subject.onLive((events) => {
      seen.push(...seqs(events));
      replayedAtEmit = subject!.historySize();
    });
    await subject.publish([
      { topic: 'a', type: 'message', data: 1 },
      { topic: 'b', type: 'message', data: 2 },
    ]);
    expect(seen).toEqual([1, 2]);
    expect(replayedAtEmit).toBe(2);
    stop();
    await subject.publish([{ topic: 'a', type: 'message', data: 3 }]);
    expect(seen).toEqual([1, 2]);
  });

  it('has a new epoch per instance (a restart loses history)', () => {
    const one = broker();
    const two = broker();
    expect(one.epoch()).not.toBe(two.epoch());
    one.onModuleDestroy();
    two.onModuleDestroy();
  });

  it('encodes each frame once and shares the bytes', async () => {
    subject = broker();
    const [event] = await subject.publish([{ topic: 'a', type: 'pos', data: { x: 1 } }]);
    expect(event.frame('raw')).toBe(event.frame('raw'));
    expect(event.frame('raw').toString()).toBe(`id: ${event.id}\nevent: pos\ndata: {"x":1}\n\n`);
    const envelope = JSON.parse(event.frame('envelope').toString().split('\n')[2].slice(6));
    expect(envelope).toEqual({ topic: 'a', type: 'pos', data: { x: 1 }, ts: event.ts });
    const chunk = event.chunk('raw').toString();
    expect(chunk).toBe(`${event.frame('raw').length.toString(16)}\r\n${event.frame('raw').toString()}\r\n`);
  });
});
