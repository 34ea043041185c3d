import type { BrokerState, LiveListener, LiveLoss, LiveLossListener } from './event-broker.js';
import type { HeraldEvent } from './herald-event.js';
import { mergeBySeq } from './merge-by-seq.js';

/** Live batches held while catching up; past this they are dropped and re-read from history. */
const PENDING_LIMIT = 10_000;

/** One live message: the events of one publish, seqs `first`, `first + 1`, … */
export interface LiveBatch {
  epoch: string;
  first: number;
  events: HeraldEvent[];
}

/** Where the feed stands, for the reader: after `seq` of `epoch` (undefined: not started, just read the head). */
export interface FeedPosition {
  epoch: string | undefined;
  seq: number;
  /** Highest seq seen in any epoch: a new epoch must start above it. */
  highestSeq: number;
}

/** What history holds of one topic after the feed's seq. */
export interface MissedTopic {
  topic: string;
  /** The seq of the topic's event before the first of `events`; +Infinity when unknown or none (a gap). */
  previous: number;
  events: HeraldEvent[];
}

/** One catch-up read: the head, and what was missed up to `upto` (at most a chunk). */
export interface MissedChunk {
  epoch: string;
  headSeq: number;
  /** False when the gap log no longer reaches back to the feed's seq. */
  logExact: boolean;
  upto: number;
  topics: MissedTopic[];
}

/** Reads history the feed missed; rejects when the backend cannot answer (the feed retries). */
export interface MissedReader {
  readMissed(from: FeedPosition): Promise<MissedChunk>;
}

interface FeedLogger {
  log(message: object): void;
  warn(message: object): void;
}

export interface LiveFeedOptions {
  reader: MissedReader;
  logger: FeedLogger;
  /** Wait before the n-th read retry in a row (1-based). */
  retryDelay: (attempt: number) => number;
  /** The feed went live. */
  onLive?: () => void;
}

/**
 * The live feed's recovery: it remembers the last seq it emitted. When its
 * subscription comes back, or a live batch skips a seq, it reads what it
 * missed through the reader (subscribed first, so nothing falls in between),
 * so listeners see every event once, in order, as if nothing had happened;
 * what history no longer holds is reported to the loss listeners. No I/O of
 * its own: the broker feeds it subscriptions, batches and a reader.
 */
export class LiveFeed {
  private feed: BrokerState['liveFeed'] = 'down';
  private subscribedNow = false;
  /** Counts subscribes, so a catch-up read that raced a re-subscribe is done again. */
  private subscription = 0;
  private lostAt: number | undefined;
  private readonly pending: LiveBatch[] = [];
  private catchingUp = false;
  private closing = false;
  /** Epoch and last seq of the live feed; undefined until its first read of the head. */
  private feedEpoch: string | undefined;
  private feedSeq = 0;
  /** Epochs the feed has left behind (newest first, a few): their late batches are ignored. */
  private pastEpochs: string[] = [];
  /** The lowest head handed to a stream before the feed had its own: the feed starts there. */
  private baselineHint: { epoch: string; seq: number } | undefined;
  /** The highest head a replay has returned, and its epoch: streams may stand there already. */
  private replayHead = { epoch: '', seq: 0 };
  private knownEpoch = '';
  /** Highest seq seen in any epoch: a new epoch starts above it, so open streams keep receiving. */
  private highest = 0;

  private readonly listeners = new Set<LiveListener>();
  private readonly lossListeners = new Set<LiveLossListener>();

  constructor(private readonly options: LiveFeedOptions) {}

  get state(): BrokerState['liveFeed'] {
    return this.feed;
  }

  get highestSeq(): number {
    return this.highest;
  }

  /** The feed's epoch, or the newest one a publish or read saw before the feed had one. */
  epoch(): string {
    return this.feedEpoch ?? this.knownEpoch;
  }

  onLive(listener: LiveListener, onLoss?: LiveLossListener): () => void {
    this.listeners.add(listener);
    if (onLoss) this.lossListeners.add(onLoss);
    return () => {
      this.listeners.delete(listener);
      if (onLoss) this.lossListeners.delete(onLoss);
    };
  }

  close(): void {
    this.closing = true;
    this.listeners.clear();
    this.lossListeners.clear();
  }

  /** A publish or read saw the head at `seq` of `epoch`. */
  noteHead(epoch: string, seq: number): void {
    this.knownEpoch = epoch;
    if (seq > this.highest) this.highest = seq;
  }

  /** A head handed to streams: the live feed must not start (or restart) below it. */
  handedOut(epoch: string, headSeq: number): void {
    if (this.feedEpoch === undefined) {
      const hint = this.baselineHint;
      if (!hint || hint.epoch !== epoch || hint.seq > headSeq) this.baselineHint = { epoch, seq: headSeq };
    }
    if (epoch !== this.replayHead.epoch) this.replayHead = { epoch, seq: headSeq };
    else if (headSeq > this.replayHead.seq) this.replayHead.seq = headSeq;
  }

  /** Live before history: the subscription is up, so what was missed can be read now. */
  subscribed(): void {
    this.subscribedNow = true;
    this.subscription++;
    this.feed = 'catching-up';
    this.startCatchUp();
  }

  /** The subscription is gone: events wait in history until it is back. */
  unsubscribed(): void {
    this.subscribedNow = false;
    this.pending.length = 0;
    if (this.feed === 'down' || this.closing) return;
    this.feed = 'down';
    this.lostAt = Date.now();
    this.options.logger.warn({
      msg: 'redis live feed lost',
      lastLiveSeq: this.feedSeq,
      effect: 'events wait in history until it is back',
    });
  }

  receive(batch: LiveBatch): void {
    if (this.feed !== 'live') {
      if (this.pending.length >= PENDING_LIMIT) this.pending.length = 0;
      this.pending.push(batch);
    } else if (batch.epoch === this.feedEpoch && batch.first <= this.feedSeq) {
      // A live batch arrives once: one at or below the feed's seq means Redis went back in time.
      // The catch-up read carries this process's highest seq, so Redis moves to a new epoch.
      this.options.logger.warn({
        msg: 'redis seq went backwards',
        epoch: batch.epoch,
        seq: batch.first,
        lastLiveSeq: this.feedSeq,
      });
      this.queueAndCatchUp(batch);
    } else if (!this.continueFeed(batch)) {
      this.queueAndCatchUp(batch);
    }
  }

  private queueAndCatchUp(batch: LiveBatch): void {
    this.pending.push(batch);
    this.feed = 'catching-up';
    this.startCatchUp();
  }

  /** Emits a live batch that continues the feed; false (nothing emitted) when it shows a gap. */
  private continueFeed(batch: LiveBatch): boolean {
    if (this.pastEpochs.includes(batch.epoch)) return true; // Published before its history was lost.
    if (batch.epoch !== this.feedEpoch) {
      // Redis lost its data while this connection stayed up: the feed goes on in the new epoch.
      this.restartFeed(batch.epoch, batch.first - 1);
    }
    if (batch.first > this.feedSeq + 1) return false;
    const fresh = batch.events.filter((event) => event.seq > this.feedSeq);
    if (fresh.length > 0) this.emit(fresh);
    return true;
  }

  private startCatchUp(): void {
    if (!this.catchingUp) void this.catchUp();
  }

  /**
   * Reads history after the feed's last seq until it reaches the head (read
   * after subscribing), then replays the live batches that arrived meanwhile.
   */
  private async catchUp(): Promise<void> {
    this.catchingUp = true;
    let recovered = 0;
    let failures = 0;
    const fromSeq = this.feedSeq;
    try {
      while (this.subscribedNow && !this.closing) {
        const subscription = this.subscription;
        let chunk: MissedChunk;
        try {
          chunk = await this.options.reader.readMissed({
            epoch: this.feedEpoch,
            seq: this.feedSeq,
            highestSeq: this.highest,
          });
          failures = 0;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, this.options.retryDelay(++failures)));
          continue;
        }
        // Read before the latest subscribe: what came in between is in neither; read again.
        if (subscription !== this.subscription) continue;
        recovered += this.applyMissed(chunk);
        if (this.feedSeq < chunk.headSeq) continue;
        // Caught up with a head read after subscribing: everything newer is in `pending`.
        const queued = this.pending.splice(0);
        const gapAt = queued.findIndex((batch) => !this.continueFeed(batch));
        if (gapAt < 0) {
          this.feed = 'live';
          break;
        }
        this.pending.unshift(...queued.slice(gapAt));
      }
    } finally {
      this.catchingUp = false;
    }
    if (this.feed === 'live') this.wentLive(recovered, fromSeq);
  }

  private wentLive(recovered: number, fromSeq: number): void {
    this.options.onLive?.();
    if (this.lostAt !== undefined) {
      this.options.logger.log({
        msg: 'redis live feed restored',
        downMs: Date.now() - this.lostAt,
        recoveredEvents: recovered,
        fromSeq,
        toSeq: this.feedSeq,
      });
      this.lostAt = undefined;
    } else if (recovered > 0) {
      this.options.logger.log({ msg: 'redis live feed filled a gap', recoveredEvents: recovered, fromSeq });
    }
  }

  /** Emits what a catch-up read recovered; returns how many events. */
  private applyMissed(chunk: MissedChunk): number {
    this.noteHead(chunk.epoch, chunk.headSeq);
    if (this.feedEpoch === undefined) {
      // The first read: start where the earliest stream started, or at the head when none did.
      const hint = this.baselineHint;
      this.baselineHint = undefined;
      this.feedEpoch = chunk.epoch;
      this.feedSeq = hint && hint.epoch === chunk.epoch ? Math.min(hint.seq, chunk.headSeq) : chunk.headSeq;
      return 0;
    }
    if (chunk.epoch !== this.feedEpoch) {
      // Go on where the new epoch began (the catch-up then reads it exactly), yet never behind a seq
      // this process already emitted or handed to a stream as a replay's head.
      const replayed = this.replayHead.epoch === chunk.epoch ? this.replayHead.seq : 0;
      this.restartFeed(chunk.epoch, Math.min(chunk.headSeq, Math.max(chunk.upto, this.feedSeq, replayed)));
      return 0;
    }
    if (!chunk.logExact) {
      this.loss({ epoch: chunk.epoch, seq: chunk.upto, topics: null });
      return 0;
    }
    const after = this.feedSeq;
    const lists: HeraldEvent[][] = [];
    const lostTopics: string[] = [];
    for (const { topic, previous, events } of chunk.topics) {
      // The topic's oldest kept entry after the cursor must name a predecessor at or before it.
      if (previous > after) lostTopics.push(topic);
      else lists.push(events);
    }
    const events = mergeBySeq(lists);
    if (events.length > 0) this.emit(events);
    if (lostTopics.length > 0) this.loss({ epoch: chunk.epoch, seq: chunk.upto, topics: lostTopics });
    this.feedSeq = chunk.upto;
    return events.length;
  }

  /** A new epoch (Redis lost its data): the feed continues after `seq` of it, and streams must reset. */
  private restartFeed(epoch: string, seq: number): void {
    const previous = this.feedEpoch;
    if (previous !== undefined) this.pastEpochs = [previous, ...this.pastEpochs.slice(0, 15)];
    this.options.logger.warn({ msg: 'redis epoch changed', previous, epoch, effect: 'history starts over' });
    this.loss({ epoch, seq, topics: null });
  }

  private loss(loss: LiveLoss): void {
    this.feedEpoch = loss.epoch;
    this.feedSeq = loss.seq;
    this.options.logger.warn({
      msg: 'redis history lost',
      effect: 'the live feed skips events redis no longer holds',
      epoch: loss.epoch,
      seq: loss.seq,
      topics: loss.topics ?? 'all',
    });
    for (const listener of this.lossListeners) listener(loss);
  }

  private emit(events: HeraldEvent[]): void {
    this.feedSeq = events[events.length - 1].seq;
    if (this.feedSeq > this.highest) this.highest = this.feedSeq;
    for (const listener of this.listeners) listener(events);
  }
}
