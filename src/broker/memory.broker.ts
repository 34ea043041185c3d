import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { EventCursor, formatEventId, newEpoch } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import {
  type BrokerState,
  type EventBroker,
  type IdempotentPublish,
  type LiveListener,
  type PublishOnceResult,
  type PublishRequest,
  type ReplayResult,
  type TopicHistoryInfo,
} from './event-broker.js';
import { HeraldEvent } from './herald-event.js';
import { IdempotencyRecords, recordedIds } from './idempotency-records.js';
import { mergeBySeq } from './merge-by-seq.js';
import { TopicHistory } from './topic-history.js';

/** Idempotency records held at most (~150 bytes each); past it the oldest is forgotten early. */
export const MAX_IDEMPOTENCY_RECORDS = 500_000;

/**
 * The embedded broker: one process, history in memory. Its epoch is new at
 * every start, so a client resuming across a restart gets `reset`.
 */
@Injectable()
export class MemoryBroker implements EventBroker, OnModuleDestroy {
  readonly kind = 'memory' as const;
  private readonly currentEpoch = newEpoch();
  private seq = 0;
  private held = 0;
  private heldBytes = 0;
  private readonly topics = new Map<string, TopicHistory>();
  /** Highest seq lost with a topic whose whole history expired (and was forgotten). */
  private expiredUpTo = 0;
  private readonly listeners = new Set<LiveListener>();
  private readonly idempotency = new IdempotencyRecords(MAX_IDEMPOTENCY_RECORDS);
  private readonly sweeper: NodeJS.Timeout;

  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(250, config.historyTtlMs / 4)));
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.listeners.clear();
  }

  epoch(): string {
    return this.currentEpoch;
  }

  publish(requests: readonly PublishRequest[]): Promise<HeraldEvent[]> {
    return Promise.resolve(this.publishNow(requests));
  }

  private publishNow(requests: readonly PublishRequest[]): HeraldEvent[] {
    const now = Date.now();
    const cutoff = now - this.config.historyTtlMs;
    const events = requests.map((request) => {
      const seq = ++this.seq;
      const event = new HeraldEvent(
        formatEventId(this.currentEpoch, seq),
        seq,
        request.topic,
        request.type,
        request.data,
        now,
      );
      const history = this.history(request.topic, cutoff);
      const [before, bytesBefore] = [history.size, history.bytes];
      history.push(event);
      this.held += history.size - before;
      this.heldBytes += history.bytes - bytesBefore;
      return event;
    });
    for (const listener of this.listeners) listener(events);
    return events;
  }

  /** One Map lookup before the publish; the record is written in the same synchronous step. */
  publishOnce(requests: readonly PublishRequest[], once: IdempotentPublish): Promise<PublishOnceResult> {
    const now = Date.now();
    const record = this.idempotency.find(once.key, now);
    if (record !== undefined) {
      return Promise.resolve(
        record.fingerprint === once.fingerprint
          ? { outcome: 'replayed', ids: recordedIds(record) }
          : { outcome: 'mismatch' },
      );
    }
    // Lookup, publish and record in one synchronous step: no other publish comes between them.
    const events = this.publishNow(requests);
    this.idempotency.remember(once.key, {
      fingerprint: once.fingerprint,
      epoch: this.currentEpoch,
      firstSeq: events[0].seq,
      count: events.length,
      expiresAt: now + once.ttlMs,
    });
    return Promise.resolve({ outcome: 'published', events });
  }

  replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult> {
    const head = formatEventId(this.currentEpoch, this.seq);
    const result: ReplayResult = { events: [], reset: false, head, headSeq: this.seq };
    if (cursor === null) return Promise.resolve(result);
    if (cursor.epoch !== this.currentEpoch || cursor.seq > this.seq) {
      result.reset = true;
      return Promise.resolve(result);
    }
    const cutoff = Date.now() - this.config.historyTtlMs;
    const perTopic: HeraldEvent[][] = [];
    for (const topic of topics) {
      const history = this.topics.get(topic);
      if (history) this.expire(history, cutoff);
      const lostUpTo = history ? history.lostUpTo : this.expiredUpTo;
      if (lostUpTo > cursor.seq) {
        result.reset = true;
        return Promise.resolve(result);
      }
      if (history) perTopic.push(history.after(cursor.seq));
    }
    result.events = mergeBySeq(perTopic);
    return Promise.resolve(result);
  }

  latest(topics: readonly string[]): Promise<ReplayResult> {
    const cutoff = Date.now() - this.config.historyTtlMs;
    const events: HeraldEvent[] = [];
    for (const topic of topics) {
      const history = this.topics.get(topic);
      if (!history) continue;
      this.expire(history, cutoff);
      const newest = history.newest();
      if (newest) events.push(newest);
    }
    events.sort((a, b) => a.seq - b.seq);
    return Promise.resolve({
      events,
      reset: false,
      head: formatEventId(this.currentEpoch, this.seq),
      headSeq: this.seq,
    });
  }

  topicHistory(topics: readonly string[]): Promise<TopicHistoryInfo[]> {
    const cutoff = Date.now() - this.config.historyTtlMs;
    return Promise.resolve(
      topics.map((topic) => {
        const history = this.topics.get(topic);
        if (history) this.expire(history, cutoff);
        const newest = history?.newest();
        return { lastEventId: newest?.id ?? null, lastEventAt: newest?.ts ?? null, retained: history?.size ?? 0 };
      }),
    );
  }

  retainedTopics(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    const cutoff = Date.now() - this.config.historyTtlMs;
    const found: string[] = [];
    for (const [topic, history] of this.topics) {
      if (!topic.startsWith(prefix) || (after !== undefined && topic <= after)) continue;
      if ((history.newest()?.ts ?? 0) >= cutoff) found.push(topic);
    }
    return Promise.resolve(found.sort().slice(0, limit));
  }

  onLive(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  historySize(): number {
    return this.held;
  }

  historyBytes(): number {
    return this.heldBytes;
  }

  /** In-process: always connected and live. */
  state(): BrokerState {
    return { connected: true, liveFeed: 'live' };
  }

  private history(topic: string, cutoff: number): TopicHistory {
    let history = this.topics.get(topic);
    if (!history) {
      history = new TopicHistory(this.config.historySize);
      // A topic re-created after expiring inherits what was lost with it.
      history.lostUpTo = this.expiredUpTo;
      this.topics.set(topic, history);
    } else {
      this.expire(history, cutoff);
    }
    return history;
  }

  private expire(history: TopicHistory, cutoff: number): void {
    const [before, bytesBefore] = [history.size, history.bytes];
    history.expire(cutoff);
    this.held -= before - history.size;
    this.heldBytes -= bytesBefore - history.bytes;
  }

  private sweep(): void {
    const now = Date.now();
    this.idempotency.sweep(now);
    const cutoff = now - this.config.historyTtlMs;
    for (const [topic, history] of this.topics) {
      history.expire(cutoff);
      if (history.size === 0) {
        this.expiredUpTo = Math.max(this.expiredUpTo, history.lostUpTo);
        this.topics.delete(topic);
      }
    }
    this.recount();
  }

  private recount(): void {
    let held = 0;
    let bytes = 0;
    for (const history of this.topics.values()) {
      held += history.size;
      bytes += history.bytes;
    }
    this.held = held;
    this.heldBytes = bytes;
  }
}
