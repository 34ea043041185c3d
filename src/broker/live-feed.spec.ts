import { describe, expect, it } from '@jest/globals';
import { formatEventId } from '@herald/sse';
import type { LiveLoss } from './event-broker.js';
import { HeraldEvent } from './herald-event.js';
import { LiveFeed, type FeedPosition, type LiveBatch, type MissedChunk } from './live-feed.js';

const EPOCH = 'e1';
const event = (seq: number, topic = 't', epoch = EPOCH) =>
  new HeraldEvent(formatEventId(epoch, seq), seq, topic, 'message', seq, 0);
const batch = (first: number, count = 1, epoch = EPOCH): LiveBatch => ({
  epoch,
  first,
  events: Array.from({ length: count }, (_, i) => event(first + i, 't', epoch)),
});
const chunk = (headSeq: number, upto: number, events: HeraldEvent[], previous = 0): MissedChunk => ({
  epoch: EPOCH,
  headSeq,
  logExact: true,
  upto,
  topics: events.length > 0 ? [{ topic: 't', previous, events }] : [],
});

/** A reader answering from a queue of chunks (or errors), recording where the feed asked from. */
function fakeReader(answers: (MissedChunk | Error)[]) {
  const asked: FeedPosition[] = [];
  return {
    asked,
    readMissed(from: FeedPosition): Promise<MissedChunk> {
      asked.push({ ...from });
      const next = answers.shift();
      if (next === undefined) return Promise.reject(new Error('no more answers'));
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
}

function subject(answers: (MissedChunk | Error)[]) {
  const reader = fakeReader(answers);
  const logged: object[] = [];
  const logger = { log: (line: object) => logged.push(line), warn: (line: object) => logged.push(line) };
  const feed = new LiveFeed({ reader, logger, retryDelay: () => 1 });
  const seen = { seqs: [] as number[], losses: [] as LiveLoss[] };
  feed.onLive(
    (events) => seen.seqs.push(...events.map((e) => e.seq)),
    (loss) => seen.losses.push(loss),
  );
  return { feed, reader, seen, logged };
}

const settle = async (feed: LiveFeed, state = 'live') => {
  for (let i = 0; i < 200 && feed.state !== state; i++) await new Promise((resolve) => setTimeout(resolve, 1));
};

describe('LiveFeed (gap recovery)', () => {
  it('starts at the head, detects a gap in the live batches, recovers it from history, then resumes', async () => {
    const { feed, reader, seen, logged } = subject([chunk(2, 2, []), chunk(6, 6, [event(4), event(5), event(6)], 3)]);
    feed.subscribed();
    await settle(feed);
    expect(feed.state).toBe('live');
    feed.receive(batch(3));
    // 4 and 5 never came live: seq 6 shows the gap, the feed reads them (and 6, once) from history.
    feed.receive(batch(6));
    expect(feed.state).toBe('catching-up');
    await settle(feed);
    expect(reader.asked[1]).toMatchObject({ epoch: EPOCH, seq: 3 });
    feed.receive(batch(7, 2));
    expect(seen.seqs).toEqual([3, 4, 5, 6, 7, 8]);
    expect(seen.losses).toEqual([]);
    expect(logged).toContainEqual({ msg: 'redis live feed filled a gap', recoveredEvents: 3, fromSeq: 3 });
  });

  it('retries a failing reader until it answers, holding live batches meanwhile', async () => {
    const { feed, reader, seen } = subject([
      new Error('down'),
      new Error('down'),
      chunk(0, 0, []),
      chunk(3, 3, [event(1), event(2), event(3)], 0),
    ]);
    feed.subscribed();
    await settle(feed);
    feed.unsubscribed();
    expect(feed.state).toBe('down');
    feed.subscribed();
    feed.receive(batch(4));
    await settle(feed);
    expect(reader.asked).toHaveLength(4);
    expect(seen.seqs).toEqual([1, 2, 3, 4]);
  });

  it('emits each seq once, in order: batches overlapping what was recovered are trimmed, old ones dropped', async () => {
    const { feed, seen } = subject([chunk(1, 1, []), chunk(4, 4, [event(3), event(4)], 2)]);
    feed.subscribed();
    await settle(feed);
    feed.receive(batch(2));
    feed.receive(batch(4)); // a gap: 3 is missing
    feed.receive(batch(3, 3)); // arrives while catching up, overlapping history
    await settle(feed);
    feed.receive(batch(6));
    expect(seen.seqs).toEqual([2, 3, 4, 5, 6]);
  });

  it('reports what history no longer holds instead of emitting around it', async () => {
    const { feed, seen } = subject([chunk(1, 1, []), chunk(5, 5, [event(5, 'busy')], 4)]);
    feed.subscribed();
    await settle(feed);
    feed.receive(batch(5));
    await settle(feed);
    expect(seen.losses).toEqual([{ epoch: EPOCH, seq: 5, topics: ['t'] }]);
    expect(seen.seqs).toEqual([]);
  });
});
