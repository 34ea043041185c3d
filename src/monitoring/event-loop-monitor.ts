import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { EventLoopSampler } from '../process/event-loop-sampler.js';
import type { Percentiles } from './dto/status.dto.js';

/**
 * Event-loop delay percentiles for /status, from the process' one sampler
 * (`EventLoopSampler`). Unlike `monitorEventLoopDelay`, whose reset() also
 * forgets the previous tick (so a block that straddles a snapshot is never
 * recorded), the sampler's previous tick survives a `take()`.
 */
export class EventLoopMonitor {
  private readonly histogram: RecordableHistogram = createHistogram();
  private stopListening: (() => void) | undefined;

  constructor(private readonly sampler: EventLoopSampler) {}

  start(): void {
    // Microseconds late; the histogram only takes integers >= 1.
    this.stopListening ??= this.sampler.listen((lateMs) =>
      this.histogram.record(Math.max(1, Math.round(lateMs * 1000))),
    );
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  /** p50/p99 delay (ms) since the previous call; starts a new interval. */
  take(): Percentiles {
    if (this.histogram.count === 0) return { p50: 0, p99: 0 };
    const result = { p50: this.histogram.percentile(50) / 1000, p99: this.histogram.percentile(99) / 1000 };
    this.histogram.reset();
    return result;
  }
}
