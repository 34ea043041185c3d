import type { CloseReason, RefuseReason } from '../streams/stream-counters.js';
import type { ActiveAlert } from './figures.js';
import type { TrendWindow } from './memory-monitor.js';
import type { HeapTrend, Percentiles } from './monitoring.schema.js';

/**
 * `GET /status` (API.md, Operations). Bytes and milliseconds are plain
 * numbers; fields beyond the contract's are extensions, never renames.
 */
export interface HeraldStatus {
  /** When the figures derived on the snapshot schedule were computed (ISO 8601). */
  at: string;
  uptimeSeconds: number;
  connections: {
    active: number;
    /** Streams opened since start. */
    total: number;
    /** Streams opened in the last 60 s. */
    perMinute: number;
    /** Open streams of the 20 busiest client IPs (as of the last snapshot). */
    perIp: Record<string, number>;
    /** Open streams on this instance of its 20 busiest topics (cluster-wide counts: `GET /v1/topics/{topic}`). */
    perTopic: Record<string, number>;
    /** Topics with at least one open stream on this instance. */
    topicsActive: number;
    /** Mean lifetime of closed streams. */
    averageDurationMs: number;
    durationMs: Percentiles;
    /** Events delivered per stream opened since start. */
    messagesPerConnection: number;
    bytesPerConnection: number;
    closedByReason: Record<CloseReason, number>;
    refusedByReason: Record<RefuseReason, number>;
    maxConnections: number;
    capacityRatio: number;
  };
  memory: {
    latest: { heapUsed: number; heapTotal: number; rss: number; external: number; arrayBuffers: number };
    /** heapUsed over the leak window. */
    trend: HeapTrend;
    trends: Record<TrendWindow, HeapTrend>;
    leak: {
      suspected: boolean;
      slopeBytesPerSecond: number;
      slopeMbPerMinute: number;
      confidence: number;
      fit: number;
      windowMs: number;
      /** `collections`: fitted to heap readings right after full garbage collections; `snapshots`: to each sub-window's lowest snapshot. */
      basis: 'collections' | 'snapshots';
      /** `warm-up` (first window, not judged), `clear`, `growing` (not yet for half a window), `suspected`. */
      phase: 'warm-up' | 'clear' | 'growing' | 'suspected';
      /** Load terms the heap floor was fitted to besides time (those that varied in the window). */
      explainedBy: ('streams' | 'retainedBytes')[];
      /** When the current suspicion began (ISO 8601), null while clear. */
      suspectedSince: string | null;
    };
    /** Heap floor above the idle floor, per open stream; null with none open. */
    bytesPerConnection: number | null;
    /** The same estimate with its spread; null below 100 open streams, where it would be mostly noise. */
    streamCost: { bytes: number; low: number; high: number; streams: number } | null;
  };
  throughput: {
    /** Events published per second over the last snapshot interval. */
    messagesPerSecond: number;
    deliveriesPerSecond: number;
    /** Delivered bytes per second. */
    bytesPerSecond: number;
    averageMessageBytes: number;
    /** Publish → socket write, over the last 60 s. */
    deliveryLatencyMs: Percentiles;
    /** Event-loop delay over the last snapshot interval. */
    eventLoopDelayMs: Percentiles;
    historyEvents: number;
    /** Encoded bytes of history held in this process (null when history lives in Redis). */
    historyBytes: number | null;
  };
  alerts: { active: ActiveAlert[] };
}
