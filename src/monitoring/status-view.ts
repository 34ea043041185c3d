import type { EventBroker } from '../broker/event-broker.js';
import type { HeraldConfig } from '../config/herald-config.js';
import type { StreamStats } from '../streams/stream-stats.js';
import {
  CLOSE_REASONS,
  DURATION_BUCKETS_SECONDS,
  REFUSE_REASONS,
  type CloseReason,
  type RefuseReason,
} from '../streams/stream-counters.js';
import type { ActiveAlert } from './figures.js';
import { bucketQuantile } from './histogram.js';
import { TREND_WINDOWS_MS, type MemoryMonitor, type TrendWindow } from './memory-monitor.js';
import type { ChartPoint } from './dto/dashboard.dto.js';
import type { HeapTrend, Percentiles } from './dto/status.dto.js';
import type { HeraldStatus } from './status.js';

/**
 * The two views a snapshot feeds: the `GET /status` document and the
 * dashboard's chart point. Both are plain functions of what MonitoringService
 * holds (its counter samples, what the last snapshot derived, the memory
 * monitor, Streams' live counts); the service keeps the schedule and decides
 * when they are built, these only assemble the shapes.
 */

/** The hot-path counters as they stood at one snapshot. */
export interface CounterSample {
  at: number;
  opened: number;
  closed: Record<CloseReason, number>;
  refused: Record<RefuseReason, number>;
  published: number;
  publishedBytes: number;
  deliveries: number;
  deliveryBytes: number;
  latencyBuckets: number[];
}

/** What the snapshot schedule derives from two consecutive samples. */
export interface Derived {
  at: number;
  messagesPerSecond: number;
  deliveriesPerSecond: number;
  bytesPerSecond: number;
  averageMessageBytes: number;
  deliveryLatencyMs: Percentiles;
  eventLoopDelayMs: Percentiles;
  perIp: Record<string, number>;
}

/** What `/status` is assembled from. */
export interface StatusSources {
  config: HeraldConfig;
  broker: EventBroker;
  stats: StreamStats;
  memory: MemoryMonitor;
  startedAt: number;
  derived: Derived;
  /** The kept sample nearest a minute before now. */
  minuteAgo: CounterSample;
  alerts: () => ActiveAlert[];
}

/** Busiest IPs and topics listed in `/status`. */
export const PER_IP_TOP = 20;

export function copy<K extends string>(record: Record<K, number>): Record<K, number> {
  return { ...record };
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

export const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

function trend(memory: MemoryMonitor, windowMs: number): HeapTrend {
  const { min, avg, max } = memory.trend(windowMs);
  return { min, avg, max, windowMs };
}

/** `GET /status`: live counts, plus what the last snapshot derived. */
export function statusView(now: number, sources: StatusSources): HeraldStatus {
  const { config, broker, stats, memory: monitor, derived, minuteAgo } = sources;
  const counters = stats.counters;
  const active = stats.open;
  const closed = CLOSE_REASONS.reduce((sum, reason) => sum + counters.closed[reason], 0);
  const memory = monitor.latest();
  const leak = monitor.leak();
  const suspectedSince = monitor.suspectedSince();
  const trends = Object.fromEntries(
    Object.entries(TREND_WINDOWS_MS).map(([name, windowMs]) => [name, trend(monitor, windowMs)]),
  ) as Record<TrendWindow, HeapTrend>;
  return {
    at: new Date(derived.at).toISOString(),
    uptimeSeconds: Math.round((now - sources.startedAt) / 1000),
    connections: {
      active,
      total: counters.opened,
      perMinute: counters.opened - minuteAgo.opened,
      // Read now, like `active`: a snapshot's copy would disagree with it until the next snapshot.
      perIp: stats.topIps(PER_IP_TOP),
      perTopic: stats.topTopics(PER_IP_TOP),
      topicsActive: stats.activeTopics,
      averageDurationMs: closed === 0 ? 0 : Math.round(counters.closedDurationMs / closed),
      durationMs: {
        p50: Math.round(bucketQuantile(0.5, DURATION_BUCKETS_SECONDS, counters.durationBuckets) * 1000),
        p99: Math.round(bucketQuantile(0.99, DURATION_BUCKETS_SECONDS, counters.durationBuckets) * 1000),
      },
      messagesPerConnection: counters.opened === 0 ? 0 : round(counters.deliveries / counters.opened),
      bytesPerConnection: counters.opened === 0 ? 0 : Math.round(counters.deliveryBytes / counters.opened),
      closedByReason: copy(counters.closed),
      refusedByReason: copy(counters.refused),
      maxConnections: config.maxConnections,
      capacityRatio: round(active / config.maxConnections, 6),
    },
    memory: {
      latest: {
        heapUsed: memory?.heapUsed ?? 0,
        heapTotal: memory?.heapTotal ?? 0,
        rss: memory?.rss ?? 0,
        external: memory?.external ?? 0,
        arrayBuffers: memory?.arrayBuffers ?? 0,
      },
      trend: trend(monitor, monitor.windowMs),
      trends,
      leak: {
        suspected: leak.suspected,
        slopeBytesPerSecond: Math.round(leak.slopeBytesPerSecond),
        slopeMbPerMinute: round(leak.slopeMbPerMinute),
        confidence: round(leak.confidence),
        fit: round(leak.fit),
        windowMs: leak.windowMs,
        basis: leak.basis,
        phase: leak.phase,
        explainedBy: leak.explainedBy,
        suspectedSince: suspectedSince === undefined ? null : new Date(suspectedSince).toISOString(),
      },
      bytesPerConnection: monitor.bytesPerConnection(),
      streamCost: monitor.streamCost(),
    },
    throughput: {
      messagesPerSecond: derived.messagesPerSecond,
      deliveriesPerSecond: derived.deliveriesPerSecond,
      bytesPerSecond: derived.bytesPerSecond,
      averageMessageBytes: derived.averageMessageBytes,
      deliveryLatencyMs: derived.deliveryLatencyMs,
      eventLoopDelayMs: derived.eventLoopDelayMs,
      historyEvents: broker.historySize(),
      historyBytes: broker.historyBytes?.() ?? null,
    },
    alerts: { active: sources.alerts() },
  };
}

/** One dashboard chart point: live gauges, the derived rates, refusals since the previous sample. */
export function chartPoint(
  previous: CounterSample,
  sample: CounterSample,
  derived: Derived,
  open: number,
  monitor: MemoryMonitor,
): ChartPoint {
  const memory = monitor.latest();
  const refused = zeroes(REFUSE_REASONS);
  for (const reason of REFUSE_REASONS) refused[reason] = sample.refused[reason] - previous.refused[reason];
  return {
    at: sample.at,
    active: open,
    heapUsed: memory?.heapUsed ?? 0,
    rss: memory?.rss ?? 0,
    messagesPerSecond: derived.messagesPerSecond,
    deliveriesPerSecond: derived.deliveriesPerSecond,
    bytesPerSecond: derived.bytesPerSecond,
    latencyP50Ms: derived.deliveryLatencyMs.p50,
    latencyP99Ms: derived.deliveryLatencyMs.p99,
    eventLoopP99Ms: derived.eventLoopDelayMs.p99,
    refused,
    leakSuspected: monitor.leak().suspected,
  };
}
