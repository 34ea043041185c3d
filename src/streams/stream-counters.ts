import { Injectable } from '@nestjs/common';

export const CLOSE_REASONS = ['client', 'draining', 'max-age', 'slow-consumer', 'kicked', 'token-expired'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];
/** Why a stream is refused (docs/protocol.md, limits and status codes), plus `broker`: the event broker is unreachable, so no stream could resume. */
export const REFUSE_REASONS = ['capacity', 'draining', 'per-ip', 'per-tenant', 'auth', 'broker'] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];

/** Upper bounds (seconds) of the delivery-latency histogram buckets. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Upper bounds (seconds) of the connection-duration histogram buckets: flapping clients to a day. */
export const DURATION_BUCKETS_SECONDS = [0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

/**
 * Plain monotonic counters bumped on the hot path (O(1), no allocation): one
 * provider, injected where streams open, close, deliver and publish.
 * Monitoring reads them (as `CounterReadings`) on its own schedule; nothing
 * here formats or exports.
 */
@Injectable()
export class StreamCounters {
  opened = 0;
  readonly closed = zeroes(CLOSE_REASONS);
  readonly refused = zeroes(REFUSE_REASONS);
  published = 0;
  publishedBytes = 0;
  deliveries = 0;
  deliveryBytes = 0;
  /** Events conflated streams dropped for a newer one of the same topic. */
  conflated = 0;
  /** Sum of connection lifetimes of closed connections, ms, and their messages. */
  closedDurationMs = 0;
  closedMessages = 0;
  /** Counts per latency bucket, not cumulative (last slot: +Inf); sum in seconds. */
  readonly latencyBuckets = new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0);
  latencySumSeconds = 0;
  latencyCount = 0;
  /** Closed connections per lifetime bucket (last slot: +Inf); `closedDurationMs` is their sum. */
  readonly durationBuckets = new Array<number>(DURATION_BUCKETS_SECONDS.length + 1).fill(0);

  /** Events accepted by the publish API, `bytes` their encoded size. */
  recordPublished(count: number, bytes: number): void {
    this.published += count;
    this.publishedBytes += bytes;
  }

  /** `count` deliveries of one event, `latencyMs` after it was published. */
  recordDeliveries(count: number, bytes: number, latencyMs: number): void {
    this.deliveries += count;
    this.deliveryBytes += bytes;
    const seconds = latencyMs / 1000;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[bucket]) bucket++;
    this.latencyBuckets[bucket] += count;
    this.latencySumSeconds += seconds * count;
    this.latencyCount += count;
  }

  /** One connection closed after `durationMs` having received `messages` events. */
  recordClosed(durationMs: number, messages: number): void {
    this.closedDurationMs += durationMs;
    this.closedMessages += messages;
    const seconds = durationMs / 1000;
    let bucket = 0;
    while (bucket < DURATION_BUCKETS_SECONDS.length && seconds > DURATION_BUCKETS_SECONDS[bucket]) bucket++;
    this.durationBuckets[bucket]++;
  }
}

/** The counters as other modules see them: read-only numbers and lists. */
export type CounterReadings = {
  readonly [K in keyof StreamCounters as StreamCounters[K] extends (...args: never[]) => unknown ? never : K]: Readonly<
    StreamCounters[K]
  >;
};
