import { LeakDetector, type HeapSample, type LeakVerdict } from './leak-detector.js';
import { Ring } from './ring.js';

/** One memory snapshot (bytes), as `process.memoryUsage()` reports it, plus the open streams then. */
export interface MemorySample extends HeapSample {
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  connections: number;
}

export interface HeapTrend {
  windowMs: number;
  min: number;
  avg: number;
  max: number;
}

/** The trend windows `/status` reports besides the leak window. */
export const TREND_WINDOWS_MS = { '1m': 60_000, '5m': 300_000, '15m': 900_000 } as const;
export type TrendWindow = keyof typeof TREND_WINDOWS_MS;

/** The most snapshots kept, whatever the cadence (≈ 360 KB of samples). */
const MAX_SAMPLES = 5_000;

/**
 * Memory snapshots in a bounded ring, heap trends over windows, the leak
 * verdict, and what one connection costs: the heap floor above the floor
 * seen with no connections, divided by the open connections.
 */
export class MemoryMonitor {
  private readonly samples: Ring<MemorySample>;
  /** Per snapshot interval, the lowest heap read right after a full collection. */
  private readonly collections: Ring<HeapSample>;
  private pendingFloor: HeapSample | undefined;
  private readonly detector: LeakDetector;
  private verdict: LeakVerdict;
  /** When the current suspicion began (ms), while there is one. */
  private suspectedAt: number | undefined;
  /** Times the verdict turned from clear to suspected. */
  private turnedSuspected = 0;
  /** Heap floor observed with no connections open (the process' own cost). */
  private idleFloor: number | undefined;

  constructor(
    private readonly intervalMs: number,
    windowMs: number,
  ) {
    const longest = Math.max(windowMs, ...Object.values(TREND_WINDOWS_MS));
    this.samples = new Ring(Math.min(MAX_SAMPLES, Math.ceil(longest / intervalMs) + 1));
    this.collections = new Ring(Math.min(MAX_SAMPLES, Math.ceil(windowMs / intervalMs) + 1));
    this.detector = new LeakDetector({ windowMs });
    this.verdict = this.detector.evaluate([], Date.now());
  }

  get windowMs(): number {
    return this.detector.windowMs;
  }

  record(sample: MemorySample): void {
    this.samples.push(sample);
    if (this.pendingFloor !== undefined) this.collections.push(this.pendingFloor);
    this.pendingFloor = undefined;
    // The idle floor follows the process (caches warm up), so it is the lowest idle reading still in the ring.
    if (sample.connections === 0) {
      let floor = sample.heapUsed;
      for (const kept of this.samples.values()) if (kept.connections === 0) floor = Math.min(floor, kept.heapUsed);
      this.idleFloor = floor;
    }
    this.verdict = this.detector.evaluate(
      [...this.samples.values(), ...this.collections.values()],
      sample.at,
      this.verdict.suspected,
    );
    if (!this.verdict.suspected) this.suspectedAt = undefined;
    else if (this.suspectedAt === undefined) {
      this.suspectedAt = sample.at;
      this.turnedSuspected++;
    }
  }

  /** The heap right after a full collection: a floor for the leak fit (the lowest per interval is kept). */
  recordCollection(at: number, heapUsed: number): void {
    if (this.pendingFloor === undefined || heapUsed < this.pendingFloor.heapUsed) {
      this.pendingFloor = { at, heapUsed, afterCollection: true };
    }
  }

  latest(): MemorySample | undefined {
    return this.samples.latest();
  }

  leak(): LeakVerdict {
    return this.verdict;
  }

  /** When the current suspicion began, or undefined while the verdict is clear. */
  suspectedSince(): number | undefined {
    return this.suspectedAt;
  }

  /** How many times a suspicion began since start (a flapping verdict shows here). */
  suspicions(): number {
    return this.turnedSuspected;
  }

  /** min/avg/max heapUsed over the last `windowMs` (as far as the ring reaches). */
  trend(windowMs: number = this.windowMs): HeapTrend {
    const latest = this.samples.latest();
    if (latest === undefined) return { windowMs, min: 0, avg: 0, max: 0 };
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let count = 0;
    for (const sample of this.samples.values()) {
      if (sample.at <= latest.at - windowMs) continue;
      min = Math.min(min, sample.heapUsed);
      max = Math.max(max, sample.heapUsed);
      sum += sample.heapUsed;
      count++;
    }
    return { windowMs, min, avg: Math.round(sum / count), max };
  }

  /**
   * Estimated heap per open connection: the recent heap floor (minimum over
   * the last few snapshots, so garbage does not count) minus the idle floor,
   * over the connections open now. Null with no connections or no idle reading.
   */
  bytesPerConnection(): number | null {
    const latest = this.samples.latest();
    if (latest === undefined || latest.connections === 0 || this.idleFloor === undefined) return null;
    let floor = Infinity;
    for (const sample of this.samples.values()) {
      if (sample.at > latest.at - 5 * this.intervalMs) floor = Math.min(floor, sample.heapUsed);
    }
    return Math.max(0, Math.round((floor - this.idleFloor) / latest.connections));
  }
}
