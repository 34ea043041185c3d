import { LeakDetector, type HeapSample, type LeakVerdict } from './leak-detector.js';
import { Ring } from './ring.js';

/** One memory snapshot (bytes), as `process.memoryUsage()` reports it, plus the load then. */
export interface MemorySample extends HeapSample {
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  connections: number;
  retainedBytes: number;
}

/** The monitor's verdict: the window's evidence, held back by warm-up and persistence. */
export interface MemoryLeakVerdict extends LeakVerdict {
  /** `warm-up`: too early to judge; `clear`; `growing`: the window shows a leak, not yet for long enough; `suspected`. */
  phase: 'warm-up' | 'clear' | 'growing' | 'suspected';
}

/** Heap per open stream, with the range the recent readings allow. */
export interface StreamCost {
  bytes: number;
  low: number;
  high: number;
  streams: number;
}

/** A recent slope below this share of the window's slope means the growth is levelling off. */
const LEVELLED_OFF = 0.5;

/** Fewer open streams than this make the per-stream estimate mostly heap noise (so it is not given). */
export const STREAM_COST_MIN_STREAMS = 100;

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
 * The leak verdict ignores the first window after start (warm-up: code,
 * pools and caches fill a fresh heap) and turns suspected only once the
 * window has shown unexplained growth continuously for half a window, so
 * growth that levels off never pages.
 */
export class MemoryMonitor {
  private readonly samples: Ring<MemorySample>;
  /** Per snapshot interval, the lowest heap read right after a full collection. */
  private readonly collections: Ring<HeapSample>;
  private pendingFloor: HeapSample | undefined;
  private readonly detector: LeakDetector;
  /** The window's own evidence, before warm-up and persistence. */
  private evidence: LeakVerdict;
  private verdict: MemoryLeakVerdict;
  /** Samples before this (ms) are warm-up and never judged. */
  private readonly warmUntil: number;
  /** Since when the window has shown unexplained growth, while it does. */
  private growingSince: number | undefined;
  /** When the current suspicion began (ms), while there is one. */
  private suspectedAt: number | undefined;
  /** Times the verdict turned from clear to suspected. */
  private turnedSuspected = 0;
  /** Heap floor observed with no connections open (the process' own cost). */
  private idleFloor: number | undefined;

  constructor(
    private readonly intervalMs: number,
    windowMs: number,
    startedAt = Date.now(),
  ) {
    const longest = Math.max(windowMs, ...Object.values(TREND_WINDOWS_MS));
    this.samples = new Ring(Math.min(MAX_SAMPLES, Math.ceil(longest / intervalMs) + 1));
    this.collections = new Ring(Math.min(MAX_SAMPLES, Math.ceil(windowMs / intervalMs) + 1));
    this.detector = new LeakDetector({ windowMs });
    this.warmUntil = startedAt + windowMs;
    this.evidence = this.detector.evaluate([], startedAt);
    this.verdict = { ...this.evidence, phase: 'warm-up' };
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
    this.judge(sample.at);
  }

  /** The heap right after a full collection: a floor for the leak fit (the lowest per interval is kept). */
  recordCollection(floor: Omit<HeapSample, 'afterCollection'>): void {
    if (this.pendingFloor === undefined || floor.heapUsed < this.pendingFloor.heapUsed) {
      this.pendingFloor = { ...floor, afterCollection: true };
    }
  }

  latest(): MemorySample | undefined {
    return this.samples.latest();
  }

  leak(): MemoryLeakVerdict {
    return this.verdict;
  }

  private judge(at: number): void {
    const judged: HeapSample[] = [];
    for (const kept of this.samples.values()) if (kept.at >= this.warmUntil) judged.push(kept);
    for (const kept of this.collections.values()) if (kept.at >= this.warmUntil) judged.push(kept);
    this.evidence = this.detector.evaluate(judged, at, this.growingSince !== undefined);
    if (!this.evidence.suspected) this.growingSince = undefined;
    else this.growingSince ??= at;
    // Turning suspected also needs the newest half window still rising: growth that levels off is warm-up.
    const persisted =
      this.growingSince !== undefined &&
      at - this.growingSince >= this.windowMs / 2 &&
      (this.suspectedAt !== undefined ||
        this.evidence.recentSlopeBytesPerSecond >= LEVELLED_OFF * this.evidence.slopeBytesPerSecond);
    const phase = at < this.warmUntil ? 'warm-up' : persisted ? 'suspected' : this.growingSince ? 'growing' : 'clear';
    this.verdict = { ...this.evidence, suspected: persisted, phase };
    if (!persisted) this.suspectedAt = undefined;
    else if (this.suspectedAt === undefined) {
      this.suspectedAt = at;
      this.turnedSuspected++;
    }
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

  /**
   * `bytesPerConnection` with its spread: low and high are the same estimate
   * from the lowest and the highest of the last few snapshots (the GC sawtooth
   * and idle-floor drift both widen it). Null below STREAM_COST_MIN_STREAMS
   * open streams, where a few MB of heap noise would pass for a per-stream cost.
   */
  streamCost(): StreamCost | null {
    const latest = this.samples.latest();
    const bytes = this.bytesPerConnection();
    if (latest === undefined || bytes === null || latest.connections < STREAM_COST_MIN_STREAMS) return null;
    const idle = this.idleFloor ?? 0;
    let low = Infinity;
    let high = -Infinity;
    for (const sample of this.samples.values()) {
      if (sample.at <= latest.at - 5 * this.intervalMs || sample.connections === 0) continue;
      const estimate = Math.max(0, (sample.heapUsed - idle) / sample.connections);
      low = Math.min(low, estimate);
      high = Math.max(high, estimate);
    }
    return {
      bytes,
      low: Math.round(Math.min(low, bytes)),
      high: Math.round(Math.max(high, bytes)),
      streams: latest.connections,
    };
  }
}
