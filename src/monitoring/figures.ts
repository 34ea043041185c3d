/**
 * The figures alert rules can watch (API.md, Administration: rule `metric`).
 * Monitoring computes them on its snapshot schedule; Alerts only reads them.
 * - active_connections: open streams at the snapshot
 * - heap_used_mb / rss_mb: V8 heapUsed / resident set size, MiB
 * - messages_per_second: events published per second over the last snapshot interval
 * - delivery_p99_ms: p99 publish → socket-write latency over the last 60 s (0 without deliveries)
 * - event_loop_lag_p99_ms: p99 event-loop delay over the last snapshot interval
 * - slow_consumer_disconnects: streams cut as slow consumers in the last 60 s (a rate, so it resolves)
 * - memory_leak_suspected: 1 while the leak detector suspects a leak, else 0
 * - capacity_ratio: open streams / MAX_CONNECTIONS
 */
export const FIGURE_NAMES = [
  'active_connections',
  'heap_used_mb',
  'rss_mb',
  'messages_per_second',
  'delivery_p99_ms',
  'event_loop_lag_p99_ms',
  'slow_consumer_disconnects',
  'memory_leak_suspected',
  'capacity_ratio',
] as const;

export type FigureName = (typeof FIGURE_NAMES)[number];
export type Figures = Record<FigureName, number>;

export type SnapshotListener = (figures: Figures, at: number) => void;

/** One firing alert, as `GET /status` lists it under `alerts.active` (API.md). */
export interface ActiveAlert {
  ruleId: string;
  name: string;
  severity: string;
  value: number;
  /** ISO 8601. */
  startedAt: string;
}

/**
 * What Monitoring reads from the Alerts module (registered at its init), so
 * `/status` and the dashboard show alerts without Monitoring importing Alerts.
 */
export interface AlertsSource {
  active(): ActiveAlert[];
  /** Most recent fired/resolved entries, newest first. */
  recent?(limit: number): unknown[];
}
