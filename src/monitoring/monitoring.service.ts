import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { EVENT_BROKER, type EventBroker } from '../broker/event-broker.js';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { StreamStats } from '../streams/stream-stats.js';
import { LATENCY_BUCKETS_SECONDS } from '../streams/stream-counters.js';
import { EventLoopSampler } from '../process/event-loop-sampler.js';
import { EventLoopMonitor } from './event-loop-monitor.js';
import { computeFigures, type AlertsSource, type ActiveAlert, type Figures, type SnapshotListener } from './figures.js';
import { bucketDelta, bucketQuantile } from './histogram.js';
import { MemoryMonitor } from './memory-monitor.js';
import { Ring } from './ring.js';
import type { ChartPoint } from './dto/dashboard.dto.js';
import type { Percentiles } from './dto/status.dto.js';
import { chartPoint, copy, PER_IP_TOP, round, statusView, type CounterSample, type Derived } from './status-view.js';
import type { HeraldStatus } from './status.js';

const SNAPSHOT_JOB = 'herald-monitoring-snapshot';
const MINUTE_MS = 60_000;
/** Chart points kept for a dashboard that connects (its first frame). */
const CHART_POINTS = 180;

/**
 * Connection, memory and throughput monitors. The hot path only bumps
 * the `StreamCounters` provider; every SNAPSHOT_INTERVAL_MS (a dynamic
 * @nestjs/schedule interval) this service samples them and the process'
 * memory, derives rates, percentiles and the leak verdict, and tells its
 * listeners (Alerts, the dashboard feed).
 */
@Injectable()
export class MonitoringService implements OnModuleInit, OnModuleDestroy {
  private readonly memory: MemoryMonitor;
  private readonly logger = new Logger('Monitoring');
  private readonly listeners = new Set<SnapshotListener>();
  private readonly counterSamples: Ring<CounterSample>;
  private readonly chart = new Ring<ChartPoint>(CHART_POINTS);
  private readonly eventLoop: EventLoopMonitor;
  /**
   * Reads the heap right after each full collection: the floors the leak fit
   * prefers to snapshots. Not after scavenges: old-space garbage piles up
   * between full collections, so a post-scavenge floor can climb for seconds.
   */
  private readonly collections = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        this.memory.recordCollection({ at: Date.now(), heapUsed: getHeapStatistics().used_heap_size, ...this.load() });
      }
    }
  });
  private readonly startedAt = Date.now();
  private latest: Figures;
  private derived: Derived;
  private alertsSource: AlertsSource | undefined;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(EVENT_BROKER) private readonly broker: EventBroker,
    private readonly registry: StreamStats,
    private readonly scheduler: SchedulerRegistry,
    sampler: EventLoopSampler,
  ) {
    this.eventLoop = new EventLoopMonitor(sampler);
    this.memory = new MemoryMonitor(config.snapshotIntervalMs, config.leakWindowMs);
    // Enough samples to reach a minute back, whatever the cadence.
    this.counterSamples = new Ring(Math.ceil(MINUTE_MS / config.snapshotIntervalMs) + 2);
    const first = this.sampleCounters(this.startedAt);
    this.counterSamples.push(first);
    this.derived = this.derive(first, first, { p50: 0, p99: 0 });
    this.latest = this.figuresAt(this.startedAt);
  }

  onModuleInit(): void {
    this.eventLoop.start();
    this.collections.observe({ entryTypes: ['gc'] });
    const timer = setInterval(() => this.snapshot(), this.config.snapshotIntervalMs);
    timer.unref();
    this.scheduler.addInterval(SNAPSHOT_JOB, timer);
    this.snapshot();
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', SNAPSHOT_JOB)) this.scheduler.deleteInterval(SNAPSHOT_JOB);
    this.eventLoop.stop();
    this.collections.disconnect();
    this.listeners.clear();
  }

  /** The leak detector's latest verdict. */
  leak(): ReturnType<MemoryMonitor['leak']> {
    return this.memory.leak();
  }

  /** Times the leak verdict turned from clear to suspected. */
  leakSuspicions(): number {
    return this.memory.suspicions();
  }

  /** Heap floor above the idle floor per open stream. */
  bytesPerConnection(): ReturnType<MemoryMonitor['bytesPerConnection']> {
    return this.memory.bytesPerConnection();
  }

  /** The alert-rule figures of the latest snapshot. */
  figures(): Figures {
    return this.latest;
  }

  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The Alerts module calls this at init; until then `/status` lists no alerts. */
  registerAlertsSource(source: AlertsSource): void {
    this.alertsSource = source;
  }

  /** Takes a snapshot now (the schedule calls this; tests may too). */
  snapshot(): Figures {
    const at = Date.now();
    const usage = process.memoryUsage();
    this.memory.record({
      at,
      heapUsed: usage.heapUsed,
      heapTotal: usage.heapTotal,
      rss: usage.rss,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      connections: this.registry.open,
      ...this.load(),
    });
    const previous = this.counterSamples.latest() as CounterSample;
    const sample = this.sampleCounters(at);
    this.counterSamples.push(sample);
    const loop = this.eventLoop.take();
    this.derived = this.derive(previous, sample, loop);
    this.latest = this.figuresAt(at);
    this.chart.push(chartPoint(previous, sample, this.derived, this.registry.open, this.memory));
    for (const listener of this.listeners) {
      try {
        listener(this.latest, at);
      } catch (error) {
        this.logger.error({ msg: 'snapshot listener failed', error: String(error) });
      }
    }
    return this.latest;
  }

  /** `GET /status`: live counts, plus what the last snapshot derived. */
  status(): HeraldStatus {
    const now = Date.now();
    return statusView(now, {
      config: this.config,
      broker: this.broker,
      stats: this.registry,
      memory: this.memory,
      startedAt: this.startedAt,
      derived: this.derived,
      minuteAgo: this.sampleAtOrBefore(now - MINUTE_MS),
      alerts: () => this.activeAlerts(),
    });
  }

  /** Chart points, oldest first (the dashboard's first frame). */
  chartHistory(): ChartPoint[] {
    return this.chart.toArray();
  }

  /** The latest chart point. */
  chartLatest(): ChartPoint | undefined {
    return this.chart.latest();
  }

  activeAlerts(): ActiveAlert[] {
    try {
      return this.alertsSource?.active() ?? [];
    } catch (error) {
      this.logger.error({ msg: 'alerts source failed', error: String(error) });
      return [];
    }
  }

  recentAlerts(limit: number): unknown[] {
    try {
      return this.alertsSource?.recent?.(limit) ?? [];
    } catch (error) {
      this.logger.error({ msg: 'alerts source failed', error: String(error) });
      return [];
    }
  }

  /** What the live load holds in the heap, for the leak model (both O(1)). */
  private load(): { streams: number; retainedBytes: number } {
    return { streams: this.registry.open, retainedBytes: this.broker.historyBytes?.() ?? 0 };
  }

  private sampleCounters(at: number): CounterSample {
    const counters = this.registry.counters;
    return {
      at,
      opened: counters.opened,
      closed: copy(counters.closed),
      refused: copy(counters.refused),
      published: counters.published,
      publishedBytes: counters.publishedBytes,
      deliveries: counters.deliveries,
      deliveryBytes: counters.deliveryBytes,
      latencyBuckets: [...counters.latencyBuckets],
    };
  }

  /** The newest kept sample taken at or before `at` (else the oldest kept). */
  private sampleAtOrBefore(at: number): CounterSample {
    let found: CounterSample | undefined;
    for (const sample of this.counterSamples.values()) {
      if (sample.at <= at) found = sample;
      else break;
    }
    return found ?? (this.counterSamples.first(() => true) as CounterSample);
  }

  private derive(previous: CounterSample, sample: CounterSample, loop: Percentiles): Derived {
    const seconds = (sample.at - previous.at) / 1000;
    const rate = (delta: number): number => (seconds > 0 ? round(delta / seconds) : 0);
    const published = sample.published - previous.published;
    const latency = bucketDelta(sample.latencyBuckets, this.sampleAtOrBefore(sample.at - MINUTE_MS).latencyBuckets);
    return {
      at: sample.at,
      messagesPerSecond: rate(published),
      deliveriesPerSecond: rate(sample.deliveries - previous.deliveries),
      bytesPerSecond: rate(sample.deliveryBytes - previous.deliveryBytes),
      averageMessageBytes:
        published > 0
          ? Math.round((sample.publishedBytes - previous.publishedBytes) / published)
          : sample.published > 0
            ? Math.round(sample.publishedBytes / sample.published)
            : 0,
      deliveryLatencyMs: {
        p50: round(bucketQuantile(0.5, LATENCY_BUCKETS_SECONDS, latency) * 1000),
        p99: round(bucketQuantile(0.99, LATENCY_BUCKETS_SECONDS, latency) * 1000),
      },
      eventLoopDelayMs: { p50: round(loop.p50), p99: round(loop.p99) },
      perIp: this.registry.topIps(PER_IP_TOP),
    };
  }

  private figuresAt(at: number): Figures {
    const memory = this.memory.latest() ?? process.memoryUsage();
    const minuteAgo = this.sampleAtOrBefore(at - MINUTE_MS);
    return computeFigures({
      open: this.registry.open,
      heapUsedBytes: memory.heapUsed,
      rssBytes: memory.rss,
      messagesPerSecond: this.derived.messagesPerSecond,
      deliveryP99Ms: this.derived.deliveryLatencyMs.p99,
      eventLoopP99Ms: this.derived.eventLoopDelayMs.p99,
      slowConsumerCutsLastMinute: this.registry.counters.closed['slow-consumer'] - minuteAgo.closed['slow-consumer'],
      leakSuspected: this.memory.leak().suspected,
      maxConnections: this.config.maxConnections,
    });
  }
}
