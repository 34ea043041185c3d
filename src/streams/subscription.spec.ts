import { describe, expect, it } from '@jest/globals';
import type { CloseOptions, EncodedFrame } from '@herald/nest-sse';
import { formatEventId, type EventCursor } from '@herald/sse';
import type { LiveLoss, ReplayResult } from '../broker/event-broker.js';
import { HeraldEvent } from '../broker/herald-event.js';
import { SlowConsumerPolicy } from './slow-consumer-policy.js';
import type { CloseReason } from './stream-counters.js';
import { Subscription, type FrameSink, type SubscriptionHost, type SubscriptionStream } from './subscription.js';

const EPOCH = 'e1';
const event = (seq: number, topic = 't'): HeraldEvent =>
  new HeraldEvent(formatEventId(EPOCH, seq), seq, topic, 'message', { seq }, 0);

/** The registry's side, recording what the subscription reports; the replay is answered by the test. */
class RecordingHost implements SubscriptionHost {
  turn = 0;
  slowConsumers = new SlowConsumerPolicy(1_000);
  closed: CloseReason[] = [];
  backlogWritten = 0;
  conflated = 0;
  replays = 0;
  answer: ((result: ReplayResult) => void) | undefined;
  answerLatest: ((result: ReplayResult) => void) | undefined;
  replay(): Promise<ReplayResult> {
    this.replays++;
    return new Promise((resolve) => (this.answer = resolve));
  }
  latest(): Promise<ReplayResult> {
    return new Promise((resolve) => (this.answerLatest = resolve));
  }
  onConflated(count: number): void {
    this.conflated += count;
  }
  onClosed(_subscription: Subscription, reason: CloseReason): void {
    this.closed.push(reason);
  }
  onBacklogWritten(count: number): void {
    this.backlogWritten += count;
  }
}

/** The writer and the Observable's subscriber in one: frames as text, a socket queue the test sets. */
class RecordingStream implements SubscriptionStream, FrameSink {
  frames: string[] = [];
  unsentBytes = 0;
  closes: { reason: string; options?: CloseOptions }[] = [];
  drained: (() => void) | undefined;
  next(frame: EncodedFrame): void {
    this.frames.push(frame.bytes.toString());
  }
  onceDrained(listener: () => void): () => void {
    this.drained = listener;
    return () => (this.drained = undefined);
  }
  cork(): boolean {
    return true;
  }
  uncork(): void {}
  close(reason: string, options?: CloseOptions): void {
    this.closes.push({ reason, options });
  }
  /** The ids of the event frames written, in order. */
  ids(): string[] {
    return this.frames.flatMap((frame) => /^id: (\S+)\n(?!event: reset)/.exec(frame)?.[1] ?? []);
  }
}

interface Modes {
  latest?: boolean;
  conflate?: boolean;
  topics?: string[];
}

function open(
  cursorSeq: number | null,
  modes: Modes = {},
): { host: RecordingHost; stream: RecordingStream; sub: Subscription } {
  const host = new RecordingHost();
  const stream = new RecordingStream();
  const cursor: EventCursor | null = cursorSeq === null ? null : { epoch: EPOCH, seq: cursorSeq };
  const sub = new Subscription(
    {
      id: 's1',
      ip: '127.0.0.1',
      tenant: undefined,
      topics: modes.topics ?? ['t'],
      format: 'raw',
      cursor,
      lastEventId: cursorSeq === null ? undefined : formatEventId(EPOCH, cursorSeq),
      latest: modes.latest ?? false,
      member: undefined,
      presence: false,
      conflate: modes.conflate ?? false,
    },
    host,
    stream,
    stream,
  );
  sub.start();
  return { host, stream, sub };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Subscription: the seam between replay and live', () => {
  it('replays after the cursor, then live, each id exactly once, whatever arrived while it read history', async () => {
    const { host, stream, sub } = open(2);
    // Live events arrive before history is read: 4 and 5 are also in the replay, 6 is not.
    for (const seq of [4, 5, 6]) sub.deliver(event(seq));
    expect(stream.frames).toEqual([]);
    host.answer!({ events: [event(3), event(4), event(5)], reset: false, head: formatEventId(EPOCH, 5), headSeq: 5 });
    await settle();
    sub.deliver(event(6));
    sub.deliver(event(7));
    expect(stream.ids()).toEqual(['e1-3', 'e1-4', 'e1-5', 'e1-6', 'e1-7']);
    expect(sub.state).toBe('live');
    expect(host.backlogWritten).toBe(4);
  });

  it('an unknown cursor gets one `reset` frame with the head id, then only events after the head', async () => {
    const { host, stream, sub } = open(99);
    sub.deliver(event(5));
    sub.deliver(event(6));
    host.answer!({ events: [], reset: true, head: formatEventId(EPOCH, 5), headSeq: 5 });
    await settle();
    expect(stream.frames[0]).toBe('id: e1-5\nevent: reset\ndata: {"reason":"history-lost","lastEventId":"e1-99"}\n\n');
    expect(stream.ids()).toEqual(['e1-6']);
    // A loss reported afterwards below what was sent keeps the resume id where the stream is, never the lost one.
    sub.lose({ epoch: EPOCH, seq: 4, topics: ['t'] });
    expect(stream.frames.at(-1)).toBe(
      'id: e1-6\nevent: reset\ndata: {"reason":"history-lost","lastEventId":"e1-6"}\n\n',
    );
  });

  it("after a reset, a loss before any live event carries the head id, not the client's lost one", async () => {
    const { host, stream, sub } = open(99);
    host.answer!({ events: [], reset: true, head: formatEventId(EPOCH, 5), headSeq: 5 });
    await settle();
    sub.lose({ epoch: EPOCH, seq: 3, topics: ['t'] });
    expect(stream.frames.at(-1)).toBe(
      'id: e1-5\nevent: reset\ndata: {"reason":"history-lost","lastEventId":"e1-5"}\n\n',
    );
  });

  it('a loss in the live feed becomes a `reset` frame in feed order, and the resume id never moves back', async () => {
    const { host, stream, sub } = open(null);
    host.answer!({ events: [], reset: false, head: formatEventId(EPOCH, 1), headSeq: 1 });
    await settle();
    sub.deliver(event(2));
    const loss: LiveLoss = { epoch: EPOCH, seq: 1, topics: ['t'] };
    sub.lose(loss);
    sub.deliver(event(3));
    expect(stream.frames[1]).toMatch(/^id: e1-2\nevent: reset\n/);
    expect(stream.ids()).toEqual(['e1-2', 'e1-3']);
  });

  it('replay waits for the socket to drain past the pump high-water mark, then continues where it stopped', async () => {
    const { host, stream, sub } = open(0);
    host.answer!({ events: [event(1), event(2), event(3)], reset: false, head: 'e1-3', headSeq: 3 });
    stream.unsentBytes = host.slowConsumers.pumpHighWater;
    await settle();
    expect(stream.ids()).toEqual([]);
    expect(stream.drained).toBeDefined();
    stream.unsentBytes = 0;
    stream.drained!();
    expect(stream.ids()).toEqual(['e1-1', 'e1-2', 'e1-3']);
    expect(sub.state).toBe('live');
  });
});

const head = (seq: number): Pick<ReplayResult, 'reset' | 'head' | 'headSeq'> => ({
  reset: false,
  head: formatEventId(EPOCH, seq),
  headSeq: seq,
});

describe('Subscription: since=latest', () => {
  it('writes the newest event of each topic in id order, then live events after the head, each once', async () => {
    const { host, stream, sub } = open(null, { latest: true, topics: ['a', 'b', 'c'] });
    expect(host.replays).toBe(0);
    // While the read is out: 4 (an older event of a), 6 (the newest of b, also in the read), 8 (new).
    for (const e of [event(4, 'a'), event(6, 'b'), event(8, 'c')]) sub.deliver(e);
    host.answerLatest!({ events: [event(5, 'a'), event(6, 'b')], ...head(7) });
    await settle();
    sub.deliver(event(8, 'c'));
    sub.deliver(event(9, 'a'));
    expect(stream.ids()).toEqual(['e1-5', 'e1-6', 'e1-8', 'e1-9']);
    expect(sub.state).toBe('live');
  });

  it('with no retained event, nothing comes before live events, and none at or below the head', async () => {
    const { host, stream, sub } = open(null, { latest: true });
    sub.deliver(event(3));
    host.answerLatest!({ events: [], ...head(3) });
    await settle();
    sub.deliver(event(4));
    expect(stream.ids()).toEqual(['e1-4']);
  });

  it('a resuming cursor wins: a plain replay, no latest read', async () => {
    const { host, stream, sub } = open(2, { latest: true });
    host.answer!({ events: [event(3)], ...head(3) });
    await settle();
    sub.deliver(event(4));
    expect(host.answerLatest).toBeUndefined();
    expect(stream.ids()).toEqual(['e1-3', 'e1-4']);
  });

  it('after a reset: the reset frame (no id, so a reconnect before them resets again), then the newest events', async () => {
    const { host, stream, sub } = open(99, { latest: true, topics: ['a', 'b'] });
    host.answer!({ events: [], reset: true, head: formatEventId(EPOCH, 6), headSeq: 6 });
    await settle();
    sub.deliver(event(7, 'b'));
    sub.deliver(event(8, 'a'));
    host.answerLatest!({ events: [event(5, 'a'), event(7, 'b')], ...head(7) });
    await settle();
    expect(stream.frames[0]).toBe('event: reset\ndata: {"reason":"history-lost","lastEventId":"e1-99"}\n\n');
    expect(stream.ids()).toEqual(['e1-5', 'e1-7', 'e1-8']);
  });

  it('after a reset with nothing retained, the reset frame carries the head of the latest read', async () => {
    const { host, stream } = open(99, { latest: true });
    host.answer!({ events: [], reset: true, head: formatEventId(EPOCH, 6), headSeq: 6 });
    await settle();
    host.answerLatest!({ events: [], ...head(7) });
    await settle();
    expect(stream.frames).toEqual([
      'id: e1-7\nevent: reset\ndata: {"reason":"history-lost","lastEventId":"e1-99"}\n\n',
    ]);
  });
});

describe('Subscription: conflate=1', () => {
  async function live(topics = ['a', 'b']): Promise<ReturnType<typeof open>> {
    const opened = open(null, { conflate: true, topics });
    opened.host.answer!({ events: [], ...head(0) });
    await settle();
    return opened;
  }

  it('behind: holds the newest event per topic, writes them in id order on drain, never cut', async () => {
    const { host, stream, sub } = await live();
    host.turn = 1;
    expect(sub.deliver(event(1, 'a'))).toBeGreaterThan(0);
    stream.unsentBytes = host.slowConsumers.conflateAboveBytes + 1;
    host.turn = 2;
    for (const [seq, topic] of [
      [2, 'a'],
      [3, 'b'],
      [4, 'a'],
      [5, 'b'],
      [6, 'b'],
    ] as const) {
      expect(sub.deliver(event(seq, topic))).toBe(0);
      host.turn++;
    }
    expect(sub.state).toBe('conflating');
    expect(host.closed).toEqual([]);
    expect(host.conflated).toBe(3); // 2 and 3, 5 replaced by 4, 5, 6
    stream.unsentBytes = 0;
    stream.drained!();
    expect(stream.ids()).toEqual(['e1-1', 'e1-4', 'e1-6']);
    expect(host.backlogWritten).toBe(2);
    sub.deliver(event(7, 'a'));
    expect(stream.ids().at(-1)).toBe('e1-7');
    expect(sub.state).toBe('live');
  });

  it('a stream that keeps up gets every event, and one without conflate=1 is cut where a conflated one holds', async () => {
    const { host, stream, sub } = await live(['a']);
    for (let seq = 1; seq <= 5; seq++) {
      host.turn++;
      sub.deliver(event(seq, 'a'));
    }
    expect(stream.ids()).toEqual(['e1-1', 'e1-2', 'e1-3', 'e1-4', 'e1-5']);
    expect(host.conflated).toBe(0);
    // 5,000 unsent: past a 1,000-byte MAX_QUEUE_BYTES, below the conflation mark.
    const plain = open(null);
    plain.host.answer!({ events: [], ...head(0) });
    await settle();
    for (const opened of [plain, { host, stream, sub }]) {
      opened.stream.unsentBytes = 5_000;
      opened.host.turn++;
      opened.sub.deliver(event(6, 'a'));
    }
    expect(plain.host.closed).toEqual(['slow-consumer']);
    expect(host.closed).toEqual([]);
    expect(stream.ids().at(-1)).toBe('e1-6');
  });

  it('a loss while conflating: the held events first, then the reset, then live', async () => {
    const { host, stream, sub } = await live(['a']);
    stream.unsentBytes = host.slowConsumers.conflateAboveBytes + 1;
    host.turn++;
    sub.deliver(event(1, 'a'));
    sub.lose({ epoch: EPOCH, seq: 3, topics: ['a'] });
    expect(stream.drained).toBeUndefined();
    expect(stream.ids()).toEqual(['e1-1']);
    expect(stream.frames.at(-1)).toMatch(/^id: e1-3\nevent: reset\n/);
    expect(sub.state).toBe('live');
  });

  it('catching up: too many live events held compacts them to the newest per topic instead of a cut', async () => {
    const { host, stream, sub } = open(0, { conflate: true, topics: ['a', 'b'] });
    const big = (seq: number, topic: string): HeraldEvent =>
      new HeraldEvent(`e1-${seq}`, seq, topic, 'message', 'x'.repeat(400), 0);
    for (const [seq, topic] of [
      [2, 'a'],
      [3, 'b'],
      [4, 'a'],
      [5, 'a'],
    ] as const)
      sub.deliver(big(seq, topic));
    // The third pushed the held bytes past 1,000: 2 went (4 is newer on a), 5 came after the compaction.
    expect(host.closed).toEqual([]);
    expect(host.conflated).toBe(1);
    host.answer!({ events: [big(1, 'a')], ...head(1) });
    await settle();
    expect(stream.ids()).toEqual(['e1-1', 'e1-3', 'e1-4', 'e1-5']);
  });
});

describe('Subscription: slow consumers', () => {
  it('live: cut when bytes are still unsent at the start of a later turn, not for a burst within one turn', async () => {
    const { host, stream, sub } = open(null);
    host.answer!({ events: [], reset: false, head: 'e1-0', headSeq: 0 });
    await settle();
    host.turn = 1;
    sub.deliver(event(1));
    stream.unsentBytes = 5_000; // the burst of this turn
    sub.deliver(event(2));
    expect(host.closed).toEqual([]);
    host.turn = 2; // still 5,000 unsent when the next turn starts
    sub.deliver(event(3));
    expect(host.closed).toEqual(['slow-consumer']);
    expect(stream.closes).toEqual([{ reason: 'slow-consumer', options: { retryMs: undefined, cutAfterMs: 2_000 } }]);
    expect(stream.ids()).toEqual(['e1-1', 'e1-2']);
  });

  it('catching up: cut when the live events held meanwhile exceed the bound', () => {
    const { host, sub } = open(0);
    const big = (seq: number): HeraldEvent => new HeraldEvent(`e1-${seq}`, seq, 't', 'message', 'x'.repeat(400), 0);
    sub.deliver(big(1));
    sub.deliver(big(2));
    expect(host.closed).toEqual([]);
    sub.deliver(big(3));
    expect(host.closed).toEqual(['slow-consumer']);
    expect(sub.deliver(big(4))).toBe(0);
  });

  it('ends once: a close by the writer afterwards (teardown) is not counted twice; an unknown reason counts as client', () => {
    const a = open(null);
    a.sub.close('kicked');
    a.sub.streamEnded('kicked');
    expect(a.host.closed).toEqual(['kicked']);
    const b = open(null);
    b.sub.streamEnded('complete');
    expect(b.host.closed).toEqual(['client']);
    const c = open(null);
    c.sub.streamEnded('max-age');
    expect(c.host.closed).toEqual(['max-age']);
  });
});

describe('SlowConsumerPolicy', () => {
  it.each([
    // maxQueueBytes, unsent at turn start, slow?
    [1_000, 1_000, false],
    [1_000, 1_001, true],
    [0, 1, true],
  ])('bound %i, %i unsent at the start of a turn → slow: %s', (bound, unsent, slow) => {
    const policy = new SlowConsumerPolicy(bound);
    const mark = { turn: -1, unsentAtTurnStart: 0, unsentLimit: policy.liveLimit(false) };
    expect(policy.behind(mark, 1, unsent)).toBe(slow);
    // Within the same turn what counts is still the queue at its start.
    expect(policy.behind(mark, 1, 0)).toBe(slow);
    expect(policy.behind(mark, 2, 0)).toBe(false);
  });

  it('bounds the pump to half the queue, at most 256 KiB, and the held backlog to the queue', () => {
    expect(new SlowConsumerPolicy(1 << 20).pumpHighWater).toBe(256 * 1024);
    expect(new SlowConsumerPolicy(100_000).pumpHighWater).toBe(50_000);
    expect(new SlowConsumerPolicy(100).backlogTooLarge(100)).toBe(false);
    expect(new SlowConsumerPolicy(100).backlogTooLarge(101)).toBe(true);
  });
});
