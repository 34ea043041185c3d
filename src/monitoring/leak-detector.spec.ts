import { describe, expect, it } from '@jest/globals';
import { fitLine, fitModel, LeakDetector, type HeapSample } from './leak-detector.js';

const MB = 1_048_576;
const MINUTE = 60_000;
const STEP_MS = 5_000;

/** Deterministic noise in [-1, 1] (a seeded LCG), so every run sees the same series. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) % 4_294_967_296;
    return (state / 4_294_967_296) * 2 - 1;
  };
}

interface Series {
  minutes: number;
  base?: number;
  /** Floor growth in MB per minute as a function of the minute. */
  growth?: (minute: number) => number;
  /** GC sawtooth: period (s) and amplitude (MB) of garbage piling up between collections. */
  gcPeriodS?: number;
  gcAmplitudeMb?: number;
  noiseMb?: number;
  spikeAtMinute?: number;
  /** Also a reading right after each collection (what the GC observer adds in production). */
  collections?: boolean;
  /** Open streams by minute, each costing `streamBytes` of heap floor. */
  streams?: (minute: number) => number;
  streamBytes?: number;
  /** Retained history bytes by minute, each costing 3 bytes of heap floor (parsed data besides the frame). */
  retained?: (minute: number) => number;
}

/** A heap series sampled every 5 s: floor + growth + sawtooth + noise (and post-collection readings). */
function series(spec: Series): HeapSample[] {
  const random = noise(42);
  const samples: HeapSample[] = [];
  const base = spec.base ?? 60 * MB;
  const periodMs = (spec.gcPeriodS ?? 30) * 1000;
  const growthPerMs = (minute: number): number => ((spec.growth?.(minute) ?? 0) * MB) / MINUTE;
  let floor = base;
  let floorAt = 0;
  const floorAtTime = (at: number): number => {
    for (; floorAt < at; floorAt += 1000) floor += growthPerMs(floorAt / MINUTE) * 1000;
    return floor;
  };
  const end = spec.minutes * MINUTE;
  const times: { at: number; afterCollection: boolean }[] = [];
  for (let at = 0; at <= end; at += STEP_MS) times.push({ at, afterCollection: false });
  if (spec.collections) for (let at = periodMs; at <= end; at += periodMs) times.push({ at, afterCollection: true });
  times.sort((a, b) => a.at - b.at);
  for (const { at, afterCollection } of times) {
    const saw = afterCollection ? 0 : ((spec.gcAmplitudeMb ?? 0) * MB * (at % periodMs)) / periodMs;
    const spike = spec.spikeAtMinute !== undefined && at === spec.spikeAtMinute * MINUTE ? 300 * MB : 0;
    const streams = Math.round(spec.streams?.(at / MINUTE) ?? 0);
    const retainedBytes = Math.round(spec.retained?.(at / MINUTE) ?? 0);
    const load = streams * (spec.streamBytes ?? 0) + 3 * retainedBytes;
    const heapUsed = floorAtTime(at) + load + saw + spike + random() * (spec.noiseMb ?? 0) * MB;
    samples.push({ at, heapUsed, streams, retainedBytes, ...(afterCollection ? { afterCollection } : {}) });
  }
  return samples;
}

const detector = new LeakDetector({ windowMs: 10 * MINUTE });

/** The lowest sample of each minute (the detector's default 10 points per 10-minute window). */
function floorsOf(samples: readonly HeapSample[]): HeapSample[] {
  const byMinute = new Map<number, HeapSample>();
  for (const sample of samples) {
    const minute = Math.floor((sample.at - 1) / MINUTE);
    const kept = byMinute.get(minute);
    if (kept === undefined || sample.heapUsed < kept.heapUsed) byMinute.set(minute, sample);
  }
  return [...byMinute.values()];
}
const endOf = (samples: HeapSample[]): number => samples[samples.length - 1].at;

describe('LeakDetector', () => {
  it.each<{ name: string; spec: Series; suspected: boolean; slopeMbPerMinute?: number; basis?: string }>([
    {
      name: 'flat heap with a GC sawtooth (30 MB every 37 s)',
      spec: { minutes: 12, gcPeriodS: 37, gcAmplitudeMb: 30, noiseMb: 1 },
      suspected: false,
    },
    {
      name: 'flat heap with a slow sawtooth (a collection every 150 s, longer than a sub-window)',
      spec: { minutes: 12, gcPeriodS: 150, gcAmplitudeMb: 40, noiseMb: 1 },
      suspected: false,
    },
    { name: 'flat heap, pure noise', spec: { minutes: 12, noiseMb: 3 }, suspected: false },
    {
      name: 'a single 300 MB spike on a flat heap',
      spec: { minutes: 12, gcPeriodS: 23, gcAmplitudeMb: 10, noiseMb: 0.5, spikeAtMinute: 8 },
      suspected: false,
    },
    {
      name: 'linear growth of 2 MB/min under sawtooth and noise',
      spec: { minutes: 12, growth: () => 2, gcPeriodS: 37, gcAmplitudeMb: 30, noiseMb: 1 },
      suspected: true,
      slopeMbPerMinute: 2,
    },
    {
      name: 'a slower leak of 1 MB/min under a 30 MB sawtooth sampled out of phase',
      spec: { minutes: 12, growth: () => 1, gcPeriodS: 29, gcAmplitudeMb: 30, noiseMb: 0.5 },
      suspected: true,
      slopeMbPerMinute: 1,
    },
    {
      name: 'a shrinking heap',
      spec: { minutes: 12, growth: () => -1, gcPeriodS: 37, gcAmplitudeMb: 20, noiseMb: 1 },
      suspected: false,
    },
    {
      name: 'steady growth too slow to matter (0.05 MB/min)',
      spec: { minutes: 12, growth: () => 0.05, gcPeriodS: 37, gcAmplitudeMb: 5 },
      suspected: false,
    },
    {
      name: 'a 40 MB sawtooth every 150 s, with a reading after each collection: the floors are flat',
      spec: { minutes: 12, gcPeriodS: 150, gcAmplitudeMb: 40, noiseMb: 1, collections: true },
      suspected: false,
      basis: 'collections',
    },
    {
      name: 'a 1 MB/min leak under a 40 MB sawtooth every 150 s, seen through the post-collection floors',
      spec: { minutes: 12, growth: () => 1, gcPeriodS: 150, gcAmplitudeMb: 40, noiseMb: 0.3, collections: true },
      suspected: true,
      slopeMbPerMinute: 1,
      basis: 'collections',
    },
    {
      name: 'steady growth of 0.3 MB/min on a 1 GB heap (under 2 % of the heap per window)',
      spec: { minutes: 12, base: 1024 * MB, growth: () => 0.3, gcPeriodS: 37, gcAmplitudeMb: 5 },
      suspected: false,
      slopeMbPerMinute: 0.3,
    },
    {
      name: 'steep growth seen for only 2 of 10 minutes (no verdict yet)',
      spec: { minutes: 2, growth: () => 5, gcPeriodS: 20, gcAmplitudeMb: 10 },
      suspected: false,
      slopeMbPerMinute: 5,
    },
    {
      name: 'a ramp of 0 → 2,000 streams (20 KB each) over 6 minutes, then flat',
      spec: {
        minutes: 12,
        streams: (m) => Math.min(2_000, m * 333),
        streamBytes: 20_480,
        gcPeriodS: 37,
        gcAmplitudeMb: 10,
      },
      suspected: false,
    },
    {
      name: 'history filling 1,000 topics up to their bound (about 20 MB retained) over 5 minutes, then full',
      spec: {
        minutes: 12,
        retained: (m) => Math.min(20 * MB, m * 4 * MB),
        gcPeriodS: 37,
        gcAmplitudeMb: 10,
        noiseMb: 0.5,
      },
      suspected: false,
    },
    {
      name: 'a 2 MB/min leak under a flat churn of 500 streams',
      spec: { minutes: 12, growth: () => 2, streams: () => 500, streamBytes: 20_480, gcPeriodS: 37, gcAmplitudeMb: 10 },
      suspected: true,
      slopeMbPerMinute: 2,
    },
    {
      name: 'a 2 MB/min leak on top of a ramp of streams that plateaus',
      spec: {
        minutes: 12,
        growth: () => 2,
        streams: (m) => Math.min(2_000, m * 333),
        streamBytes: 20_480,
        gcPeriodS: 37,
        gcAmplitudeMb: 10,
        noiseMb: 0.3,
      },
      suspected: true,
      slopeMbPerMinute: 2,
    },
  ])('$name → suspected: $suspected', ({ spec, suspected, slopeMbPerMinute, basis }) => {
    const samples = series(spec);
    const verdict = detector.evaluate(samples, endOf(samples));
    expect(verdict.suspected).toBe(suspected);
    expect(verdict.basis).toBe(basis ?? 'snapshots');
    expect(verdict.confidence).toBeGreaterThanOrEqual(0);
    expect(verdict.confidence).toBeLessThanOrEqual(1);
    if (slopeMbPerMinute !== undefined) {
      expect(verdict.slopeMbPerMinute).toBeGreaterThan(slopeMbPerMinute * 0.8);
      expect(verdict.slopeMbPerMinute).toBeLessThan(slopeMbPerMinute * 1.2);
    }
    if (suspected) expect(verdict.confidence).toBeGreaterThan(0.8);
  });

  it('charges a ramp of streams to the streams, where a fit on time alone would call it a leak', () => {
    const samples = series({
      minutes: 12,
      streams: (m) => Math.min(2_000, m * 333),
      streamBytes: 20_480,
      gcPeriodS: 37,
      gcAmplitudeMb: 10,
    });
    const end = endOf(samples);
    const window = samples.filter((sample) => sample.at > end - 10 * MINUTE);
    const timeOnly = fitModel(floorsOf(window), []);
    expect(timeOnly.slope).toBeGreaterThan(2_048);
    expect(timeOnly.r2).toBeGreaterThan(0.5);
    const verdict = detector.evaluate(samples, end);
    expect(verdict.explainedBy).toEqual(['streams']);
    expect(verdict.suspected).toBe(false);
  });

  it('gives growth to the load when time and load move in lockstep (a ramp over the whole window)', () => {
    const samples = series({ minutes: 10, streams: (m) => m * 200, streamBytes: 20_480, noiseMb: 0.01 });
    const verdict = detector.evaluate(samples, endOf(samples));
    expect(verdict.suspected).toBe(false);
    expect(Math.abs(verdict.slopeBytesPerSecond)).toBeLessThan(2_048);
  });

  it('clears once the growth has stopped for a whole window', () => {
    const samples = series({
      minutes: 22,
      growth: (minute) => (minute < 11 ? 3 : 0),
      gcPeriodS: 37,
      gcAmplitudeMb: 30,
      noiseMb: 1,
    });
    const upTo = (minute: number): HeapSample[] => samples.filter((sample) => sample.at <= minute * MINUTE);
    expect(detector.evaluate(upTo(11), 11 * MINUTE).suspected).toBe(true);
    const later = detector.evaluate(samples, 22 * MINUTE);
    expect(later.suspected).toBe(false);
    expect(Math.abs(later.slopeMbPerMinute)).toBeLessThan(0.3);
  });

  it('keeps a suspicion through a noisier stretch (hysteresis), and drops it when the floor stops rising', () => {
    // A fit between keepFit and minFit: not enough to start a suspicion, enough to keep one.
    const points = [0, 3, 1, 4, 2, 5, 3.5, 6, 4.5, 7.5].map((mb, i) => ({
      at: i * MINUTE,
      heapUsed: 60 * MB + mb * MB,
    }));
    const fit = fitLine(points).r2;
    expect(fit).toBeGreaterThan(0.6);
    expect(fit).toBeLessThan(0.8);
    const at = 9 * MINUTE + 1;
    expect(detector.evaluate(points, at, false).suspected).toBe(false);
    expect(detector.evaluate(points, at, true).suspected).toBe(true);
    const flat = points.map((point, i) => ({ ...point, heapUsed: 60 * MB + (i % 2) * 0.5 * MB }));
    expect(detector.evaluate(flat, at, true).suspected).toBe(false);
  });

  it('ignores samples outside the window', () => {
    const old = series({ minutes: 10, growth: () => 10 }).map((sample) => ({ ...sample, at: sample.at - 20 * MINUTE }));
    const recent = series({ minutes: 10, gcPeriodS: 37, gcAmplitudeMb: 20, noiseMb: 1 });
    const verdict = detector.evaluate([...old, ...recent], endOf(recent));
    expect(verdict.suspected).toBe(false);
    expect(verdict.points).toBe(10);
  });

  it('fits points to the minima of each sub-window, not to raw samples', () => {
    // Every raw sample rises inside each minute, but the minima (the floors) are flat.
    const samples: HeapSample[] = [];
    for (let at = 0; at <= 10 * MINUTE; at += STEP_MS) samples.push({ at, heapUsed: 50 * MB + (at % MINUTE) * 100 });
    const verdict = detector.evaluate(samples, 10 * MINUTE);
    expect(verdict.points).toBe(10);
    expect(verdict.suspected).toBe(false);
  });

  it.each<{ name: string; heap: (second: number) => number; slope: number; r2: number }>([
    { name: 'a perfect line', heap: (second) => 1000 + 3 * second, slope: 3, r2: 1 },
    { name: 'no change', heap: () => 1000, slope: 0, r2: 0 },
    { name: 'a symmetric V (no trend)', heap: (second) => 1000 + 10 * Math.abs(second - 4.5), slope: 0, r2: 0 },
  ])('fitLine: $name', ({ heap, slope, r2 }) => {
    const points = Array.from({ length: 10 }, (_, second) => ({ at: second * 1000, heapUsed: heap(second) }));
    const line = fitLine(points);
    expect(line.slope).toBeCloseTo(slope, 9);
    expect(line.r2).toBeCloseTo(r2, 9);
  });
});
