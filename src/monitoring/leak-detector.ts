/** One heap reading: when (ms) and `heapUsed` (bytes). */
export interface HeapSample {
  at: number;
  heapUsed: number;
}

export interface LeakDetectorOptions {
  /** The sliding window the trend is fitted over (ms). */
  windowMs: number;
  /** Sub-windows per window; the minimum of each is one fitted point (the heap's post-GC-like floor). */
  buckets?: number;
  /** Least R² of the straight-line fit for a leak verdict. */
  minFit?: number;
  /** Growth slower than this is warm-up (JIT, caches), not a leak worth waking someone for. */
  minSlopeBytesPerSecond?: number;
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
  // About 7 MB an hour: slower growth is indistinguishable from caches filling.
  minSlopeBytesPerSecond: 2_048,
  minCoverage: 0.5,
} as const;

/**
 * Decides whether the heap grows steadily. Raw samples are dominated by the GC
 * sawtooth, so the window is cut into sub-windows and only each one's minimum
 * (the floor the collector returns to) is kept; a least-squares line through
 * those minima must rise faster than a floor, explain most of their variance
 * (R²) and have a slope significantly above zero (one-sided t-test, 99 %).
 */
export class LeakDetector {
  readonly windowMs: number;
  private readonly buckets: number;
  private readonly minFit: number;
  private readonly minSlope: number;
  private readonly minCoverage: number;

  constructor(options: LeakDetectorOptions) {
    this.windowMs = options.windowMs;
    this.buckets = options.buckets ?? DEFAULT_LEAK_OPTIONS.buckets;
    this.minFit = options.minFit ?? DEFAULT_LEAK_OPTIONS.minFit;
    this.minSlope = options.minSlopeBytesPerSecond ?? DEFAULT_LEAK_OPTIONS.minSlopeBytesPerSecond;
    this.minCoverage = options.minCoverage ?? DEFAULT_LEAK_OPTIONS.minCoverage;
  }

  /** The verdict over the window ending at `now`; `samples` in time order (older ones are ignored). */
  evaluate(samples: Iterable<HeapSample>, now: number): LeakVerdict {
    const start = now - this.windowMs;
    const bucketMs = this.windowMs / this.buckets;
    const minima: (HeapSample | undefined)[] = new Array<HeapSample | undefined>(this.buckets);
    let first = Infinity;
    let last = -Infinity;
    for (const sample of samples) {
      if (sample.at <= start || sample.at > now) continue;
      first = Math.min(first, sample.at);
      last = Math.max(last, sample.at);
      const bucket = Math.min(this.buckets - 1, Math.floor((sample.at - start) / bucketMs));
      const current = minima[bucket];
      if (current === undefined || sample.heapUsed < current.heapUsed) minima[bucket] = sample;
    }
    const points = minima.filter((point): point is HeapSample => point !== undefined);
    const coverage = last > first ? Math.min(1, (last - first) / this.windowMs) : 0;
    const line = fitLine(points);
    const verdict = {
      slopeBytesPerSecond: line.slope,
      slopeMbPerMinute: (line.slope * 60) / MB,
      fit: line.r2,
      confidence: line.slope > 0 ? line.r2 * coverage : 0,
      windowMs: this.windowMs,
      points: points.length,
    };
    const significant = points.length >= 3 && line.t > criticalT(points.length - 2);
    const suspected =
      coverage >= this.minCoverage && significant && line.r2 >= this.minFit && line.slope >= this.minSlope;
    return { suspected, ...verdict };
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
