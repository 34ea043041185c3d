import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { EventCursor } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { EVENT_BROKER, type EventBroker, type LiveLoss, type ReplayResult } from '../broker/event-broker.js';
import { HeraldEvent } from '../broker/herald-event.js';
import { PRESENCE, type PresenceTracker } from '../presence/presence-tracker.js';
import { PresenceFrames } from './presence-frames.js';
import { SlowConsumerPolicy } from './slow-consumer-policy.js';
import { AdmissionLedger, type Admission, type AdmissionResult } from './admission-ledger.js';
import { connectionView, type ConnectionView } from './connection-view.js';
import { StreamCounters, type CloseReason, type RefuseReason } from './stream-counters.js';
import {
  Subscription,
  type FrameSink,
  type SubscriptionHost,
  type SubscriptionInit,
  type SubscriptionStream,
} from './subscription.js';
import { TopicIndex } from './topic-index.js';

export type { ConnectionView } from './connection-view.js';

/**
 * The one place that knows live subscriptions: it admits them (the ledger),
 * opens and closes them (the topic index, presence) and dispatches the live
 * feed to them. Heartbeats and deadlines are the stream writer's (one timer
 * wheel); what other modules read is `StreamStats`.
 */
@Injectable()
export class ConnectionRegistry implements SubscriptionHost, OnModuleInit, OnModuleDestroy {
  readonly slowConsumers: SlowConsumerPolicy;
  turn = 0;

  private readonly logger = new Logger('Streams');
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly topics = new TopicIndex();
  private readonly ledger: AdmissionLedger;
  private isDraining = false;
  private nextId = 0;
  private readonly idPrefix = Math.floor(Math.random() * 36 ** 4).toString(36);
  private queue: (HeraldEvent | LiveLoss)[] = [];
  private flushScheduled = false;
  private stopLive: (() => void) | undefined;
  private readonly presenceFrames: PresenceFrames;

  constructor(
    @Inject(HERALD_CONFIG) config: HeraldConfig,
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
    @Inject(PRESENCE) private readonly presence: PresenceTracker,
    readonly counters: StreamCounters = new StreamCounters(),
  ) {
    this.slowConsumers = new SlowConsumerPolicy(config.maxQueueBytes);
    this.presenceFrames = new PresenceFrames(presence);
    this.ledger = new AdmissionLedger(config);
  }

  /** Admitted connections, including ones still being set up. */
  get active(): number {
    return this.ledger.active;
  }

  /** Open streams. */
  get open(): number {
    return this.subscriptions.size;
  }

  /** Whether shutdown has begun: from then on every subscription is refused. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** Topics with at least one open stream on this instance (`herald_topics_active`). */
  get activeTopics(): number {
    return this.topics.size;
  }

  onModuleInit(): void {
    this.stopLive = this.broker.onLive(
      (events) => this.enqueue(events),
      (loss) => this.enqueue([loss]),
    );
  }

  onModuleDestroy(): void {
    this.stopLive?.();
    this.presenceFrames.stop();
  }

  /** Refuses every new subscription from now on (readiness turns down with it). */
  beginDrain(): void {
    this.isDraining = true;
  }

  /** Reserves a slot, or says why not. */
  admit(ip: string, tenant: string | undefined): AdmissionResult {
    if (this.isDraining) return this.refuse('draining');
    const result = this.ledger.admit(ip, tenant);
    return typeof result === 'string' ? this.refuse(result) : { admitted: result };
  }

  /** Gives an admission slot back (idempotent). */
  release(admission: Admission): void {
    this.ledger.release(admission);
  }

  refuse(reason: RefuseReason): { refused: RefuseReason } {
    this.counters.refused[reason]++;
    return { refused: reason };
  }

  /**
   * A stream whose head is out: registered in the topic index (from here on
   * it receives live events), then its replay is read.
   */
  openSubscription(init: Omit<SubscriptionInit, 'id'>, stream: SubscriptionStream, out: FrameSink): Subscription {
    const id = `${this.idPrefix}${(++this.nextId).toString(36)}`;
    const subscription = new Subscription({ ...init, id }, this, stream, out);
    this.subscriptions.set(subscription.id, subscription);
    this.topics.add(subscription);
    for (const topic of subscription.topics) this.presence.join(topic, subscription.member);
    if (subscription.presence) this.presenceFrames.watch(subscription);
    this.counters.opened++;
    subscription.start();
    return subscription;
  }

  onClosed(subscription: Subscription, reason: CloseReason): void {
    if (!this.subscriptions.delete(subscription.id)) return;
    this.topics.remove(subscription);
    for (const topic of subscription.topics) this.presence.leave(topic, subscription.member);
    if (subscription.presence) this.presenceFrames.unwatch(subscription);
    this.counters.closed[reason]++;
    this.counters.recordClosed(Date.now() - subscription.startedAt, subscription.messages);
    if (reason === 'slow-consumer') {
      this.logger.warn({ msg: 'slow consumer disconnected', connection: subscription.id, ip: subscription.ip });
    }
  }

  onBacklogWritten(count: number, bytes: number): void {
    this.counters.deliveries += count;
    this.counters.deliveryBytes += bytes;
  }

  replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult> {
    return this.broker.replay(topics, cursor);
  }

  latest(topics: readonly string[]): Promise<ReplayResult> {
    return this.broker.latest(topics);
  }

  onConflated(count: number): void {
    this.counters.conflated += count;
  }

  get(id: string): Subscription | undefined {
    return this.subscriptions.get(id);
  }

  list(): ConnectionView[] {
    return [...this.subscriptions.values()].map(connectionView);
  }

  /** Connection counts of the `limit` busiest IPs. */
  topIps(limit: number): Record<string, number> {
    return this.ledger.topIps(limit);
  }

  /** This instance's open streams on each of the `limit` busiest topics. */
  topTopics(limit: number): Record<string, number> {
    return this.topics.top(limit);
  }

  private enqueue(events: readonly (HeraldEvent | LiveLoss)[]): void {
    for (const event of events) this.queue.push(event);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * The hot path: every queued event to every subscriber of its topic, as the
   * event's pre-encoded bytes. When several events go out in one turn, each
   * socket is corked once so they leave in one write.
   */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.turn++;
    const events = this.queue;
    this.queue = [];
    const now = Date.now();
    const cork = events.length > 1;
    const corked: Subscription[] = [];
    for (const event of events) {
      if (!(event instanceof HeraldEvent)) {
        this.dispatchLoss(event);
        continue;
      }
      const subscribers = this.topics.subscribers(event.topic);
      if (!subscribers) continue;
      let count = 0;
      let bytes = 0;
      for (const subscription of subscribers) {
        if (cork && !subscription.corked) {
          subscription.cork();
          if (subscription.corked) corked.push(subscription);
        }
        const written = subscription.deliver(event);
        if (written > 0) {
          count++;
          bytes += written;
        }
      }
      if (count > 0) this.counters.recordDeliveries(count, bytes, now - event.ts);
    }
    for (const subscription of corked) subscription.uncork();
  };

  /** Tells the streams on the affected topics (all when unknown), in feed order. */
  private dispatchLoss(loss: LiveLoss): void {
    const affected = loss.topics === null ? this.subscriptions.values() : this.topics.onAny(loss.topics);
    for (const subscription of affected) subscription.lose(loss);
  }
}
