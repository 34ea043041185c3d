import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, register, Registry, type Metric } from 'prom-client';
import { EVENT_BROKER, type EventBroker } from '../broker/event-broker.js';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { StreamStats } from '../streams/stream-stats.js';
import {
  CLOSE_REASONS,
  DURATION_BUCKETS_SECONDS,
  LATENCY_BUCKETS_SECONDS,
  REFUSE_REASONS,
} from '../streams/stream-counters.js';
import { FIGURE_NAMES, FIGURES } from './figures.js';
import { cumulative } from './histogram.js';
import { MonitoringService } from './monitoring.service.js';

type Labels = Record<string, string>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/**
 * A counter or histogram whose values are read from Herald's own counters at
 * scrape time: the hot path keeps bumping plain numbers, and nothing is
 * copied into prom-client until Prometheus asks.
 */
class ScrapedMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly read: () => Sample[],
  ) {}

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.read(),
    });
  }
}

/** `_bucket{le}`, `_sum`, `_count` of a histogram kept as per-bucket counts. */
function histogramSamples(name: string, bounds: readonly number[], counts: readonly number[], sum: number): Sample[] {
  const running = cumulative(counts);
  return [
    ...bounds.map((bound, i) => ({ metricName: `${name}_bucket`, labels: { le: String(bound) }, value: running[i] })),
    { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: running[running.length - 1] },
    { metricName: `${name}_sum`, labels: {}, value: sum },
    { metricName: `${name}_count`, labels: {}, value: running[running.length - 1] },
  ];
}

const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** The help of `herald_alert_figure`, from the figures registry: each figure and what it is. */
const FIGURE_HELP = `What alert rules compare, as of the last snapshot, by figure (a rule's metric): ${FIGURE_NAMES.map(
  (name) => `${name}: ${FIGURES[name].description}`,
).join('; ')}.`;

/**
 * Herald's Prometheus metrics, in a registry of this application (two Herald
 * apps in one process, as the tests run them, never share or clash). The
 * process_/nodejs_ defaults are process-wide, so they live once in
 * prom-client's global registry and are served alongside. Labels are only
 * ever `reason`, `severity`, `figure` or `le`: a bounded set.
 */
@Injectable()
export class HeraldMetrics {
  readonly registry = new Registry();

  constructor(
    @Inject(HERALD_CONFIG) config: HeraldConfig,
    @Inject(EVENT_BROKER) broker: EventBroker,
    connections: StreamStats,
    monitoring: MonitoringService,
  ) {
    ensureDefaultMetrics();
    const counters = connections.counters;
    const registers = [this.registry];
    const scraped = (name: string, help: string, type: 'counter' | 'histogram', read: () => Sample[]): void =>
      // prom-client's Registry accepts any object with name/help/type/get(); its typings name only its classes.
      this.registry.registerMetric(new ScrapedMetric(name, help, type, read) as unknown as Metric);
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };

    gauge('herald_connections_active', 'Open SSE streams.', () => connections.open);
    gauge('herald_connections_max', 'The MAX_CONNECTIONS ceiling.', () => config.maxConnections);
    gauge('herald_capacity_ratio', 'Open streams / MAX_CONNECTIONS.', () => connections.open / config.maxConnections);
    gauge(
      'herald_topics_active',
      'Topics with at least one open stream on this instance.',
      () => connections.activeTopics,
    );
    scraped('herald_connections_opened_total', 'SSE streams opened.', 'counter', () => [
      { value: counters.opened, labels: {} },
    ]);
    scraped('herald_connections_closed_total', 'SSE streams closed, by reason.', 'counter', () =>
      CLOSE_REASONS.map((reason) => ({ value: counters.closed[reason], labels: { reason } })),
    );
    scraped('herald_connections_refused_total', 'Subscriptions refused, by reason.', 'counter', () =>
      REFUSE_REASONS.map((reason) => ({ value: counters.refused[reason], labels: { reason } })),
    );
    scraped('herald_connection_duration_seconds', 'Lifetime of closed SSE streams.', 'histogram', () =>
      histogramSamples(
        'herald_connection_duration_seconds',
        DURATION_BUCKETS_SECONDS,
        counters.durationBuckets,
        counters.closedDurationMs / 1000,
      ),
    );
    scraped('herald_events_published_total', 'Events accepted by the publish API.', 'counter', () => [
      { value: counters.published, labels: {} },
    ]);
    scraped('herald_events_published_bytes_total', 'Encoded bytes of the events published.', 'counter', () => [
      { value: counters.publishedBytes, labels: {} },
    ]);
    scraped('herald_deliveries_total', 'Events written to subscriber streams.', 'counter', () => [
      { value: counters.deliveries, labels: {} },
    ]);
    scraped('herald_delivery_bytes_total', 'Event bytes written to subscriber streams.', 'counter', () => [
      { value: counters.deliveryBytes, labels: {} },
    ]);
    scraped(
      'herald_conflated_events_total',
      'Events conflated streams (conflate=1) skipped for a newer one of the same topic.',
      'counter',
      () => [{ value: counters.conflated, labels: {} }],
    );
    scraped('herald_delivery_latency_seconds', 'Publish to socket write, per live delivery.', 'histogram', () =>
      histogramSamples(
        'herald_delivery_latency_seconds',
        LATENCY_BUCKETS_SECONDS,
        counters.latencyBuckets,
        counters.latencySumSeconds,
      ),
    );
    gauge('herald_history_events', 'Events held in replay history (all topics).', () => broker.historySize());
    gauge('herald_memory_leak_suspected', '1 while the leak detector suspects a heap leak.', () =>
      monitoring.leak().suspected ? 1 : 0,
    );
    scraped(
      'herald_memory_leak_suspicions_total',
      'Times the leak verdict turned from clear to suspected.',
      'counter',
      () => [{ value: monitoring.leakSuspicions(), labels: {} }],
    );
    gauge(
      'herald_memory_leak_confidence_ratio',
      'Confidence of the heap-growth fit, 0..1 (R² scaled by window coverage).',
      () => monitoring.leak().confidence,
    );
    gauge(
      'herald_heap_growth_bytes_per_second',
      'Growth of the post-GC heap floor over the leak window that open streams and retained history do not explain.',
      () => monitoring.leak().slopeBytesPerSecond,
    );
    gauge(
      'herald_memory_per_connection_bytes',
      'Heap floor above the idle floor per open stream (0 with none open).',
      () => monitoring.bytesPerConnection() ?? 0,
    );
    new Gauge({
      name: 'herald_alert_figure',
      help: FIGURE_HELP,
      labelNames: ['figure'],
      registers,
      collect() {
        const figures = monitoring.figures();
        for (const figure of FIGURE_NAMES) this.set({ figure }, figures[figure]);
      },
    });
    new Gauge({
      name: 'herald_alerts_active',
      help: 'Firing alerts, by severity.',
      labelNames: ['severity'],
      registers,
      collect() {
        const active = monitoring.activeAlerts();
        for (const severity of SEVERITIES) {
          this.set({ severity }, active.filter((alert) => alert.severity === severity).length);
        }
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition: Herald's metrics plus the process-wide defaults. */
  exposition(): Promise<string> {
    return Registry.merge([register, this.registry]).metrics();
  }
}

/**
 * prom-client defaults Herald does not serve: the three `_total` gauges break
 * `promtool check metrics` (gauges named like counters), and the per-type
 * handle/resource gauges list every socket on each scrape (tens of ms of
 * blocked event loop at 10,000 streams) to say what herald_connections_active says.
 */
const DROPPED_DEFAULTS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
];

/** process_* and nodejs_* once per process, in the global registry @willsoto/nestjs-prometheus serves from. */
function ensureDefaultMetrics(): void {
  if (register.getSingleMetric('process_cpu_user_seconds_total') !== undefined) return;
  collectDefaultMetrics({ register });
  for (const name of DROPPED_DEFAULTS) register.removeSingleMetric(name);
}
