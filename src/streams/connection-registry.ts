import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { EventCursor } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { EVENT_BROKER, type EventBroker, type LiveLoss, type ReplayResult } from '../broker/event-broker.js';
import { HeraldEvent } from '../broker/herald-event.js';
import { PRESENCE, type PresenceTracker } from '../presence/presence-tracker.js';
import type { Connection } from './dto/connection.dto.js';
import { PresenceFrames } from './presence-frames.js';
import { SlowConsumerPolicy } from './slow-consumer-policy.js';
import { StreamCounters, type CloseReason, type RefuseReason } from './stream-counters.js';
import {
  Subscription,
  type FrameSink,
  type SubscriptionHost,
  type SubscriptionInit,
  type SubscriptionStream,
} from './subscription.js';

/** A slot held from admission until the response closes. */
export interface Admission {
  readonly ip: string;
  readonly tenant: string | undefined;
  released: boolean;
}

export type AdmissionResult = { admitted: Admission } | { refused: RefuseReason };

/** The wire shape of one stream is its documented class; the old name stays for callers outside src/. */
export type { Connection as ConnectionView } from './dto/connection.dto.js';

/**
 * The one place that knows live subscriptions: admission slots (per IP, per
 * tenant, total) and the topic index the live feed is dispatched through.
 * Heartbeats and deadlines are the stream writer's (one timer wheel).
 */
@Injectable()
export class ConnectionRegistry implements SubscriptionHost, OnModuleInit, OnModuleDestroy {
  readonly counters = new StreamCounters();
  readonly slowConsumers: SlowConsumerPolicy;
  turn = 0;
  draining = false;

  private readonly logger = new Logger('Streams');
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly byTopic = new Map<string, Set<Subscription>>();
  private readonly perIp = new Map<string, number>();
  private readonly perTenant = new Map<string, number>();
  private admitted = 0;
  private nextId = 0;
  private readonly idPrefix = Math.floor(Math.random() * 36 ** 4).toString(36);
  private queue: (HeraldEvent | LiveLoss)[] = [];
  private flushScheduled = false;
  private stopLive: (() => void) | undefined;
  private readonly presenceFrames: PresenceFrames;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
    @Inject(PRESENCE) private readonly presence: PresenceTracker,
  ) {
    this.slowConsumers = new SlowConsumerPolicy(config.maxQueueBytes);
    this.presenceFrames = new PresenceFrames(presence);
  }

  /** Admitted connections, including ones still being set up. */
  get active(): number {
    return this.admitted;
  }

  /** Open streams. */
  get open(): number {
    return this.subscriptions.size;
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

  /**
   * Reserves a slot, or says why not. Synchronous check-and-increment, so
   * simultaneous requests can never overshoot a limit.
   */
  admit(ip: string, tenant: string | undefined): AdmissionResult {
    if (this.draining) return this.refuse('draining');
    if (this.admitted >= Math.floor(this.config.capacityThreshold * this.config.maxConnections)) {
      return this.refuse('capacity');
    }
    if ((this.perIp.get(ip) ?? 0) >= this.config.maxConnectionsPerIp) return this.refuse('per-ip');
    const tenantLimit = this.config.maxConnectionsPerTenant;
    if (tenant !== undefined && tenantLimit > 0 && (this.perTenant.get(tenant) ?? 0) >= tenantLimit) {
      return this.refuse('per-tenant');
    }
    this.admitted++;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    if (tenant !== undefined) this.perTenant.set(tenant, (this.perTenant.get(tenant) ?? 0) + 1);
    return { admitted: { ip, tenant, released: false } };
  }

  /** Gives an admission slot back (idempotent). */
  release(admission: Admission): void {
    if (admission.released) return;
    admission.released = true;
    this.admitted--;
    decrement(this.perIp, admission.ip);
    if (admission.tenant !== undefined) decrement(this.perTenant, admission.tenant);
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
    for (const topic of subscription.topics) {
      let set = this.byTopic.get(topic);
      if (!set) this.byTopic.set(topic, (set = new Set()));
      set.add(subscription);
      this.presence.join(topic, subscription.member);
    }
    if (subscription.presence) this.presenceFrames.watch(subscription);
    this.counters.opened++;
    subscription.start();
    return subscription;
  }

  onClosed(subscription: Subscription, reason: CloseReason): void {
    if (!this.subscriptions.delete(subscription.id)) return;
    for (const topic of subscription.topics) {
      const set = this.byTopic.get(topic);
      if (!set) continue;
      set.delete(subscription);
      if (set.size === 0) this.byTopic.delete(topic);
      this.presence.leave(topic, subscription.member);
    }
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

  list(): Connection[] {
    return [...this.subscriptions.values()].map((s) => ({
      id: s.id,
      ip: s.ip,
      tenant: s.tenant ?? null,
      topics: s.topics,
      startedAt: new Date(s.startedAt).toISOString(),
      messages: s.messages,
      bytes: s.bytes,
      unsentBytes: s.unsentBytes,
    }));
  }

  /** Connection counts of the `limit` busiest IPs. */
  topIps(limit: number): Record<string, number> {
    return largest(this.perIp, limit);
  }

  /** Topics with at least one open stream on this instance (`herald_topics_active`). */
  get activeTopics(): number {
    return this.byTopic.size;
  }

  /** This instance's open streams on each of the `limit` busiest topics. */
  topTopics(limit: number): Record<string, number> {
    return largest(this.byTopic, limit, (set) => set.size);
  }

  subscriptionCount(): number {
    return this.subscriptions.size;
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
      const subscribers = this.byTopic.get(event.topic);
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
    if (loss.topics === null) {
      for (const subscription of this.subscriptions.values()) subscription.lose(loss);
      return;
    }
    const affected = new Set<Subscription>();
    for (const topic of loss.topics)
      for (const subscription of this.byTopic.get(topic) ?? []) affected.add(subscription);
    for (const subscription of affected) subscription.lose(loss);
  }
}

/** The `limit` largest entries, in one pass keeping a short sorted list: O(n · limit), no copy of the map. */
function largest<V>(
  map: ReadonlyMap<string, V>,
  limit: number,
  size: (value: V) => number = (value) => value as number,
): Record<string, number> {
  const top: [string, number][] = [];
  if (limit <= 0) return {};
  for (const [key, value] of map) {
    const count = size(value);
    if (top.length === limit && count <= top[limit - 1][1]) continue;
    let at = top.length;
    while (at > 0 && top[at - 1][1] < count) at--;
    top.splice(at, 0, [key, count]);
    if (top.length > limit) top.pop();
  }
  return Object.fromEntries(top);
}

function decrement(map: Map<string, number>, key: string): void {
  const value = (map.get(key) ?? 0) - 1;
  if (value <= 0) map.delete(key);
  else map.set(key, value);
}
