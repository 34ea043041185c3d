import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import type { Percentiles } from './dto/status.dto.js';

/**
 * Event-loop delay: a timer due every `resolutionMs` records how late it ran.
 * Unlike `monitorEventLoopDelay`, whose reset() also forgets the previous tick
 * (so a block that straddles a snapshot is never recorded), the previous tick
 * here survives a `take()`, and the timer's own period is not counted as lag.
 */
export class EventLoopMonitor {
  private readonly histogram: RecordableHistogram = createHistogram();
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(private readonly resolutionMs = 20) {}

  start(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      // Microseconds late; the histogram only takes integers >= 1.
      this.histogram.record(Math.max(1, Math.round((now - this.last - this.resolutionMs) * 1000)));
      this.last = now;
    }, this.resolutionMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** p50/p99 delay (ms) since the previous call; starts a new interval. */
  take(): Percentiles {
    if (this.histogram.count === 0) return { p50: 0, p99: 0 };
    const result = { p50: this.histogram.percentile(50) / 1000, p99: this.histogram.percentile(99) / 1000 };
    this.histogram.reset();
    return result;
  }
}
