import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { ConnectionRegistry } from '../streams/connection-registry.js';
import type { AlertsSource, Figures, SnapshotListener } from './figures.js';

/**
 * Takes a snapshot every SNAPSHOT_INTERVAL_MS and tells listeners (Alerts).
 * First cut: connection and memory figures; the Monitoring issue grows it.
 */
@Injectable()
export class MonitoringService implements OnModuleInit, OnModuleDestroy {
  private readonly listeners = new Set<SnapshotListener>();
  private latest: Figures;
  private timer: NodeJS.Timeout | undefined;
  private lastPublished = 0;
  private lastAt = Date.now();
  private alertsSource: AlertsSource | undefined;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly registry: ConnectionRegistry,
  ) {
    this.latest = this.compute(Date.now());
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.snapshot(), this.config.snapshotIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  figures(): Figures {
    return this.latest;
  }

  /** The Alerts module calls this at init; until then `/status` lists no alerts. */
  registerAlertsSource(source: AlertsSource): void {
    this.alertsSource = source;
  }

  get alerts(): AlertsSource | undefined {
    return this.alertsSource;
  }

  onSnapshot(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): Figures {
    const at = Date.now();
    this.latest = this.compute(at);
    for (const listener of this.listeners) listener(this.latest, at);
    return this.latest;
  }

  private compute(at: number): Figures {
    const memory = process.memoryUsage();
    const counters = this.registry.counters;
    const seconds = Math.max(0.001, (at - this.lastAt) / 1000);
    const rate = (counters.published - this.lastPublished) / seconds;
    this.lastPublished = counters.published;
    this.lastAt = at;
    return {
      active_connections: this.registry.open,
      heap_used_mb: memory.heapUsed / 1_048_576,
      rss_mb: memory.rss / 1_048_576,
      messages_per_second: rate,
      delivery_p99_ms: 0,
      event_loop_lag_p99_ms: 0,
      slow_consumer_disconnects: counters.closed['slow-consumer'],
      memory_leak_suspected: 0,
      capacity_ratio: this.registry.open / this.config.maxConnections,
    };
  }
}
