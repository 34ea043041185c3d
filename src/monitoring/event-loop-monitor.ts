import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import type { Percentiles } from './dto/status.dto.js';

/**
 * The one event-loop sampler: a timer due every `periodMs` reports how late
 * each firing ran (by `clock`), which is how long the loop was blocked. The
 * timer's own period is not counted as lag. /status (`EventLoopMonitor`) and
 * liveness (`EventLoopWatch` in health/process.health.ts) each run one, at
 * their own period and clock.
 */
export class LateTimer {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly onLate: (lateMs: number, now: number) => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  start(now = this.clock()): void {
    this.last = now;
    this.timer = setInterval(() => this.tick(this.clock()), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One firing at `now`; exposed for tests. */
  tick(now: number): void {
    const lateMs = now - this.last - this.periodMs;
    this.last = now;
    this.onLate(lateMs, now);
  }
}

/**
 * Event-loop delay percentiles for /status. Unlike `monitorEventLoopDelay`,
 * whose reset() also forgets the previous tick (so a block that straddles a
 * snapshot is never recorded), the previous tick here survives a `take()`.
 */
export class EventLoopMonitor {
  private readonly histogram: RecordableHistogram = createHistogram();
  private readonly timer: LateTimer;

  constructor(resolutionMs = 20) {
    // Microseconds late; the histogram only takes integers >= 1.
    this.timer = new LateTimer(resolutionMs, (lateMs) => this.histogram.record(Math.max(1, Math.round(lateMs * 1000))));
  }

  start(): void {
    this.timer.start();
  }

  stop(): void {
    this.timer.stop();
  }

  /** p50/p99 delay (ms) since the previous call; starts a new interval. */
  take(): Percentiles {
    if (this.histogram.count === 0) return { p50: 0, p99: 0 };
    const result = { p50: this.histogram.percentile(50) / 1000, p99: this.histogram.percentile(99) / 1000 };
    this.histogram.reset();
    return result;
  }
}
