/** One heap reading: when (ms), `heapUsed` (bytes), and the live load that explains part of it. */
export interface HeapSample {
  at: number;
  heapUsed: number;
  /** Read right after a full garbage collection: a true floor, not just a low sample. */
  afterCollection?: boolean;
  /** Streams open at that moment. */
  streams?: number;
  /** Bytes of events the broker held in process memory for replay at that moment. */
  retainedBytes?: number;
}

export interface LeakDetectorOptions {
  /** The sliding window the trend is fitted over (ms). */
  windowMs: number;
  /** Sub-windows per window; the minimum of each is one fitted point (the heap's post-GC-like floor). */
  buckets?: number;
  /** Least partial R² of time in the fit for a leak verdict. */
  minFit?: number;
  /** Least partial R² that keeps an existing suspicion (hysteresis: the verdict does not flap at the threshold). */
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
  /** Growth of the heap floor that the load does not explain (bytes/s); 0 without enough points. */
  slopeBytesPerSecond: number;
  slopeMbPerMinute: number;
  /** Partial R² of time, 0..1: the share of the residual movement (after the load's share) a steady growth explains. */
  fit: number;
  /** 0..1: the fit, scaled by how much of the window was observed; 0 when the floor is not rising. */
  confidence: number;
  windowMs: number;
  /** Points (sub-window minima) the model was fitted to. */
  points: number;
  /** What the points are: heap readings right after full collections, or the lowest snapshot of each sub-window. */
  basis: 'collections' | 'snapshots';
  /** The load terms the model fitted besides time (those that varied in the window). */
  explainedBy: ('streams' | 'retainedBytes')[];
  /** The same unexplained growth fitted over the newest half of the window only (bytes/s): near 0 once growth levels off. */
  recentSlopeBytesPerSecond: number;
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
 * Decides whether the heap grows in a way the load does not explain. Raw
 * samples are dominated by the GC sawtooth, so the window is cut into
 * sub-windows and only each one's minimum (the floor the collector returns
 * to) is kept. Those floors are fitted by least squares to time plus the load
 * that varied in the window (open streams, bytes of retained history): a ramp
 * of streams or history filling up is charged to its own term, and only the
 * time term, the growth left over, can be a leak. It must rise fast enough
 * (absolutely, and relative to the heap), explain most of what the load
 * leaves (partial R²) and be significantly above zero (one-sided t-test, 99 %).
 * When time and load move in lockstep the two cannot be told apart, and the
 * growth is given to the load.
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
    const model = fitModel(points);
    const significant = model.df >= 1 && model.t > criticalT(model.df);
    const floor = points.reduce((sum, point) => sum + point.heapUsed, 0) / Math.max(1, points.length);
    const steep = model.slope >= this.minSlope && (model.slope * this.windowMs) / 1000 >= this.minGrowth * floor;
    return {
      suspected:
        coverage >= this.minCoverage && significant && steep && model.r2 >= (wasSuspected ? this.keepFit : this.minFit),
      slopeBytesPerSecond: model.slope,
      slopeMbPerMinute: (model.slope * 60) / MB,
      fit: model.r2,
      confidence: model.slope > 0 ? model.r2 * coverage : 0,
      windowMs: this.windowMs,
      points: points.length,
      basis: useCollections ? 'collections' : 'snapshots',
      explainedBy: model.terms,
      recentSlopeBytesPerSecond: fitModel(points.filter((point) => point.at > now - this.windowMs / 2)).slope,
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

interface Model extends Line {
  /** Residual degrees of freedom (points minus fitted coefficients). */
  df: number;
  /** The load terms fitted besides time. */
  terms: ('streams' | 'retainedBytes')[];
}

const LOAD_TERMS = ['streams', 'retainedBytes'] as const;
/** A pivot this small, relative to its column, means that column is (nearly) a mix of the others. */
const COLLINEAR = 1e-6;

/** Ordinary least squares of heapUsed on time (seconds) alone. */
export function fitLine(points: readonly HeapSample[]): Line {
  const { slope, r2, t } = fitModel(points, []);
  return { slope, r2, t };
}

/**
 * Least squares of heapUsed on time (seconds) and each load term that varies
 * among the points (while enough points remain for a t-test). Returns the
 * time coefficient, its t statistic and its partial R² (t² / (t² + df), the
 * plain R² when time is the only term).
 */
export function fitModel(
  points: readonly HeapSample[],
  candidates: readonly (typeof LOAD_TERMS)[number][] = LOAD_TERMS,
): Model {
  const n = points.length;
  const none: Model = { slope: 0, r2: 0, t: 0, df: Math.max(0, n - 2), terms: [] };
  if (n < 2) return none;
  const column = (value: (point: HeapSample) => number): number[] => {
    const values = points.map(value);
    const mean = values.reduce((sum, v) => sum + v, 0) / n;
    return values.map((v) => v - mean);
  };
  const y = column((point) => point.heapUsed);
  const columns = [column((point) => point.at / 1000)];
  const terms: Model['terms'] = [];
  for (const term of candidates) {
    // Each extra term costs a degree of freedom; keep at least 2 for the test.
    if (n - 2 - columns.length < 2) break;
    const values = column((point) => point[term] ?? 0);
    if (values.some((v) => Math.abs(v) >= 0.5)) {
      columns.push(values);
      terms.push(term);
    }
  }
  const k = columns.length;
  const df = n - 1 - k;
  const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, v, i) => sum + v * b[i], 0);
  const syy = dot(y, y);
  if (dot(columns[0], columns[0]) === 0 || syy === 0) return { ...none, df, terms };
  const inverse = invert(columns.map((a) => columns.map((b) => dot(a, b))));
  // Time and the load move together: the growth cannot be told from the load's, so the load gets it.
  if (inverse === undefined) return { ...none, df, terms };
  const xty = columns.map((a) => dot(a, y));
  const beta = inverse.map((row) => dot(row, xty));
  const slope = beta[0];
  const residual = Math.max(0, syy - dot(beta, xty));
  if (k === 1 && df < 1) return { slope, r2: Math.min(1, 1 - residual / syy), t: 0, df, terms };
  if (df < 1) return { ...none, slope, df, terms };
  const standardError = Math.sqrt((residual / df) * inverse[0][0]);
  const t = standardError === 0 ? Math.sign(slope) * Infinity : slope / standardError;
  const r2 = Number.isFinite(t) ? (t * t) / (t * t + df) : 1;
  return { slope, r2, t, df, terms };
}

/** Gauss–Jordan inverse of a small symmetric matrix; undefined when it is (nearly) singular. */
function invert(matrix: readonly (readonly number[])[]): number[][] | undefined {
  const k = matrix.length;
  const a = matrix.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < k; col++) {
    let pivot = col;
    for (let row = col + 1; row < k; row++) if (Math.abs(a[row][col]) > Math.abs(a[pivot][col])) pivot = row;
    if (Math.abs(a[pivot][col]) <= COLLINEAR * matrix[col][col]) return undefined;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    const divisor = a[col][col];
    for (let j = 0; j < 2 * k; j++) a[col][j] /= divisor;
    for (let row = 0; row < k; row++) {
      if (row === col) continue;
      const factor = a[row][col];
      if (factor !== 0) for (let j = 0; j < 2 * k; j++) a[row][j] -= factor * a[col][j];
    }
  }
  return a.map((row) => row.slice(k));
}

function criticalT(degreesOfFreedom: number): number {
  return T_CRITICAL_99[degreesOfFreedom - 1] ?? 2.326;
}
