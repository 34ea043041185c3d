/**
 * The figures alert rules can watch (API.md, Administration: rule `metric`).
 * Monitoring computes them on its snapshot schedule; Alerts only reads them.
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
