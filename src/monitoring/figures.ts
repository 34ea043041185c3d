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
