/** One heap reading: when (ms) and `heapUsed` (bytes). */
export interface HeapSample {
  at: number;
  heapUsed: number;
  /** Read right after a full garbage collection: a true floor, not just a low sample. */
  afterCollection?: boolean;
}

export interface LeakDetectorOptions {
  /** The sliding window the trend is fitted over (ms). */
  windowMs: number;
  /** Sub-windows per window; the minimum of each is one fitted point (the heap's post-GC-like floor). */
  buckets?: number;
  /** Least R² of the straight-line fit for a leak verdict. */
  minFit?: number;
  /** Least R² that keeps an existing suspicion (hysteresis: the verdict does not flap at the threshold). */
  keepFit?: number;
  /** Growth slower than this is warm-up (JIT, caches), not a leak worth waking someone for. */
  minSlopeBytesPerSecond?: number;
  /** Least growth over one window, as a share of the heap floor: smaller growth is not actionable. */
  minGrowthPerWindow?: number;
  /** Share of the window that must hold samples before any verdict. */
  minCoverage?: number;
}

export interface LeakVerdict {
  suspected: boolean;
  /** Least-squares slope of the heap floor (bytes/s); 0 without enough points. */
  slopeBytesPerSecond: number;
  slopeMbPerMinute: number;
  /** R² of the fit, 0..1: the share of the floor's movement a steady growth explains. */
  fit: number;
  /** 0..1: the fit, scaled by how much of the window was observed; 0 when the floor is not rising. */
  confidence: number;
  windowMs: number;
  /** Points (sub-window minima) the line was fitted to. */
  points: number;
  /** What the points are: heap readings right after full collections, or the lowest snapshot of each sub-window. */
  basis: 'collections' | 'snapshots';
}

/** One-sided 99 % critical values of Student's t by degrees of freedom (1–30); 2.33 (normal) beyond. */
const T_CRITICAL_99 = [
  31.821, 6.965, 4.541, 3.747, 3.365, 3.143, 2.998, 2.896, 2.821, 2.764, 2.718, 2.681, 2.65, 2.624, 2.602, 2.583, 2.567,
  2.552, 2.539, 2.528, 2.518, 2.508, 2.5, 2.492, 2.485, 2.479, 2.473, 2.467, 2.462, 2.457,
];

const MB = 1_048_576;

export const DEFAULT_LEAK_OPTIONS = {
  buckets: 10,
  minFit: 0.8,
  keepFit: 0.6,
  // About 7 MB an hour: slower growth is indistinguishable from caches filling.
  minSlopeBytesPerSecond: 2_048,
  // 2 % a window: a heap growing slower takes more than 50 windows (over 8 h at 10 min) to double.
  minGrowthPerWindow: 0.02,
  minCoverage: 0.5,
} as const;

/**
 * Decides whether the heap grows steadily. Raw samples are dominated by the GC
 * sawtooth, so the window is cut into sub-windows and only each one's minimum
 * (the floor the collector returns to) is kept; a least-squares line through
 * those minima must rise fast enough (absolutely, and relative to the heap),
 * explain most of their variance (R²) and have a slope significantly above
 * zero (one-sided t-test, 99 %).
 * When enough readings taken right after full collections span the window,
 * only those are used: between full collections old-space garbage piles up,
 * so a sub-window's lowest snapshot can rise for a while without any leak.
 */
export class LeakDetector {
  readonly windowMs: number;
  private readonly buckets: number;
  private readonly minFit: number;
  private readonly keepFit: number;
  private readonly minSlope: number;
  private readonly minGrowth: number;
  private readonly minCoverage: number;

  constructor(options: LeakDetectorOptions) {
    this.windowMs = options.windowMs;
    this.buckets = options.buckets ?? DEFAULT_LEAK_OPTIONS.buckets;
    this.minFit = options.minFit ?? DEFAULT_LEAK_OPTIONS.minFit;
    this.keepFit = options.keepFit ?? DEFAULT_LEAK_OPTIONS.keepFit;
    this.minSlope = options.minSlopeBytesPerSecond ?? DEFAULT_LEAK_OPTIONS.minSlopeBytesPerSecond;
    this.minGrowth = options.minGrowthPerWindow ?? DEFAULT_LEAK_OPTIONS.minGrowthPerWindow;
    this.minCoverage = options.minCoverage ?? DEFAULT_LEAK_OPTIONS.minCoverage;
  }

  /**
   * The verdict over the window ending at `now` (older samples are ignored).
   * `wasSuspected`: the previous verdict was a leak, so a looser fit keeps it.
   */
  evaluate(samples: Iterable<HeapSample>, now: number, wasSuspected = false): LeakVerdict {
    const start = now - this.windowMs;
    const inWindow: HeapSample[] = [];
    for (const sample of samples) if (sample.at > start && sample.at <= now) inWindow.push(sample);
    const collections = inWindow.filter((sample) => sample.afterCollection === true);
    const useCollections = collections.length >= 4 && this.coverage(collections) >= this.minCoverage;
    const points = this.floors(useCollections ? collections : inWindow, start);
    const coverage = this.coverage(inWindow);
    const line = fitLine(points);
    const significant = points.length >= 3 && line.t > criticalT(points.length - 2);
    const floor = points.reduce((sum, point) => sum + point.heapUsed, 0) / Math.max(1, points.length);
    const steep = line.slope >= this.minSlope && (line.slope * this.windowMs) / 1000 >= this.minGrowth * floor;
    return {
      suspected:
        coverage >= this.minCoverage && significant && steep && line.r2 >= (wasSuspected ? this.keepFit : this.minFit),
      slopeBytesPerSecond: line.slope,
      slopeMbPerMinute: (line.slope * 60) / MB,
      fit: line.r2,
      confidence: line.slope > 0 ? line.r2 * coverage : 0,
      windowMs: this.windowMs,
      points: points.length,
      basis: useCollections ? 'collections' : 'snapshots',
    };
  }

  /** The lowest reading of each sub-window that has one. */
  private floors(samples: readonly HeapSample[], start: number): HeapSample[] {
    const bucketMs = this.windowMs / this.buckets;
    const minima = new Array<HeapSample | undefined>(this.buckets);
    for (const sample of samples) {
      const bucket = Math.min(this.buckets - 1, Math.floor((sample.at - start) / bucketMs));
      const current = minima[bucket];
      if (current === undefined || sample.heapUsed < current.heapUsed) minima[bucket] = sample;
    }
    return minima.filter((point): point is HeapSample => point !== undefined);
  }

  /** Share of the window between the first and last reading. */
  private coverage(samples: readonly HeapSample[]): number {
    let first = Infinity;
    let last = -Infinity;
    for (const sample of samples) {
      first = Math.min(first, sample.at);
      last = Math.max(last, sample.at);
    }
    return last > first ? Math.min(1, (last - first) / this.windowMs) : 0;
  }
}

interface Line {
  /** bytes per second */
  slope: number;
  r2: number;
  /** t statistic of the slope (slope / its standard error). */
  t: number;
}

/** Ordinary least squares of heapUsed on time (seconds). */
export function fitLine(points: readonly HeapSample[]): Line {
  const n = points.length;
  if (n < 2) return { slope: 0, r2: 0, t: 0 };
  let meanX = 0;
  let meanY = 0;
  for (const point of points) {
    meanX += point.at / 1000;
    meanY += point.heapUsed;
  }
  meanX /= n;
  meanY /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const point of points) {
    const dx = point.at / 1000 - meanX;
    const dy = point.heapUsed - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return { slope: 0, r2: 0, t: 0 };
  const slope = sxy / sxx;
  const residual = Math.max(0, syy - slope * sxy);
  const r2 = Math.min(1, Math.max(0, 1 - residual / syy));
  if (n < 3) return { slope, r2, t: 0 };
  const standardError = Math.sqrt(residual / (n - 2) / sxx);
  const t = standardError === 0 ? Math.sign(slope) * Infinity : slope / standardError;
  return { slope, r2, t };
}

function criticalT(degreesOfFreedom: number): number {
  return T_CRITICAL_99[degreesOfFreedom - 1] ?? 2.326;
}
