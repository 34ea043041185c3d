import type { ActiveAlertView } from './dto/status.dto.js';

/** What one snapshot hands each figure's `compute`. */
export interface FigureInputs {
  /** Open streams at the snapshot. */
  open: number;
  heapUsedBytes: number;
  rssBytes: number;
  messagesPerSecond: number;
  deliveryP99Ms: number;
  eventLoopP99Ms: number;
  /** Streams cut as slow consumers in the last 60 s. */
  slowConsumerCutsLastMinute: number;
  leakSuspected: boolean;
  maxConnections: number;
}

export interface FigureDefinition {
  /** One line for the rule `metric` docs and the metric help. */
  description: string;
  compute(inputs: FigureInputs): number;
}

const MB = 1_048_576;
const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The figures alert rules can watch (rule `metric`; docs/operations.md).
 * Monitoring computes them on its snapshot schedule; Alerts only reads them.
 * This is the one place a figure is added: the rule DTO's allowed values and
 * message, the OpenAPI description and the examples derive from it.
 */
export const FIGURES = {
  active_connections: { description: 'open streams at the snapshot', compute: (i) => i.open },
  heap_used_mb: { description: 'V8 heapUsed, MiB', compute: (i) => round(i.heapUsedBytes / MB) },
  rss_mb: { description: 'resident set size, MiB', compute: (i) => round(i.rssBytes / MB) },
  messages_per_second: {
    description: 'events published per second over the last snapshot interval',
    compute: (i) => i.messagesPerSecond,
  },
  delivery_p99_ms: {
    description: 'p99 publish → socket-write latency over the last 60 s (0 without deliveries)',
    compute: (i) => i.deliveryP99Ms,
  },
  event_loop_lag_p99_ms: {
    description: 'p99 event-loop delay over the last snapshot interval',
    compute: (i) => i.eventLoopP99Ms,
  },
  slow_consumer_disconnects: {
    description: 'streams cut as slow consumers in the last 60 s (a rate, so it resolves)',
    compute: (i) => i.slowConsumerCutsLastMinute,
  },
  memory_leak_suspected: {
    description: '1 while the leak detector suspects a leak, else 0',
    compute: (i) => (i.leakSuspected ? 1 : 0),
  },
  capacity_ratio: {
    description: 'open streams / MAX_CONNECTIONS',
    compute: (i) => round(i.open / i.maxConnections, 6),
  },
} as const satisfies Record<string, FigureDefinition>;

export type FigureName = keyof typeof FIGURES;
export const FIGURE_NAMES = Object.keys(FIGURES) as FigureName[];
export type Figures = Record<FigureName, number>;

/** Every figure computed from one snapshot's inputs. */
export function computeFigures(inputs: FigureInputs): Figures {
  return Object.fromEntries(FIGURE_NAMES.map((name) => [name, FIGURES[name].compute(inputs)])) as Figures;
}

export type SnapshotListener = (figures: Figures, at: number) => void;

/** One firing alert, as `GET /status` lists it under `alerts.active`: its documented class is its type. */
export type ActiveAlert = ActiveAlertView;

/**
 * What Monitoring reads from the Alerts module (registered at its init), so
 * `/status` and the dashboard show alerts without Monitoring importing Alerts.
 */
export interface AlertsSource {
  active(): ActiveAlert[];
  /** Most recent fired/resolved entries, newest first. */
  recent?(limit: number): unknown[];
}
