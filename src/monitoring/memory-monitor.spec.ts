import { describe, expect, it } from '@jest/globals';
import { MemoryMonitor, STREAM_COST_MIN_STREAMS, type MemorySample } from './memory-monitor.js';

const MB = 1_048_576;
const WINDOW_MS = 60_000;
const STEP_MS = 1_000;

function sample(at: number, heapUsed: number, connections = 0): MemorySample {
  return {
    at,
    heapUsed,
    heapTotal: heapUsed * 2,
    rss: heapUsed * 3,
    external: 0,
    arrayBuffers: 0,
    connections,
    streams: connections,
    retainedBytes: 0,
  };
}

/** Feeds one sample a second from 0 to `seconds`, heap given by second; returns the phases seen. */
function feed(monitor: MemoryMonitor, seconds: number, heap: (second: number) => number, from = 0): Set<string> {
  const phases = new Set<string>();
  for (let second = from; second <= seconds; second++) {
    monitor.record(sample(second * STEP_MS, heap(second)));
    phases.add(monitor.leak().phase);
  }
  return phases;
}

describe('MemoryMonitor leak verdict', () => {
  it('never judges the first window: steep warm-up growth is not a suspicion', () => {
    const monitor = new MemoryMonitor(STEP_MS, WINDOW_MS, 0);
    // 32 → 37 MB in the first window, then level.
    const phases = feed(monitor, 3 * 60, (s) => 32 * MB + (Math.min(s, 60) * (5 * MB)) / 60);
    expect(phases.has('warm-up')).toBe(true);
    expect(phases.has('suspected')).toBe(false);
    expect(monitor.suspicions()).toBe(0);
  });

  it('growth that levels off (caches filling after the warm-up) is never suspected', () => {
    const monitor = new MemoryMonitor(STEP_MS, WINDOW_MS, 0);
    feed(monitor, 120, () => 40 * MB);
    // 8 MB approached with a time constant of a quarter window: the window reads as growth for a while.
    const phases = feed(monitor, 400, (s) => 40 * MB + 8 * MB * (1 - Math.exp(-Math.max(0, s - 120) / 15)), 121);
    expect(phases.has('growing')).toBe(true);
    expect(phases.has('suspected')).toBe(false);
    expect(monitor.suspicions()).toBe(0);
  });

  it('growth that persists is suspected after half a window of growing, within two windows, and resolves', () => {
    const monitor = new MemoryMonitor(STEP_MS, WINDOW_MS, 0);
    feed(monitor, 120, () => 40 * MB);
    let suspectedAt: number | undefined;
    let grewAt: number | undefined;
    for (let second = 121; second <= 240; second++) {
      monitor.record(sample(second * STEP_MS, 40 * MB + (second - 120) * 100_000));
      if (monitor.leak().phase === 'growing') grewAt ??= second;
      if (monitor.leak().suspected) suspectedAt ??= second;
    }
    expect(grewAt).toBeDefined();
    expect(suspectedAt).toBeDefined();
    expect((suspectedAt ?? 0) - (grewAt ?? 0)).toBeGreaterThanOrEqual(WINDOW_MS / 2 / 1000);
    expect((suspectedAt ?? Infinity) - 120).toBeLessThanOrEqual((2 * WINDOW_MS) / 1000);
    expect(monitor.suspicions()).toBe(1);
    // The leak stops: the heap stays where it got to, and within two windows the verdict clears.
    feed(monitor, 240 + 120, () => 40 * MB + 120 * 100_000, 241);
    expect(monitor.leak().suspected).toBe(false);
    expect(monitor.suspicions()).toBe(1);
  });

  it('gives a per-stream cost only with enough streams, with its spread', () => {
    const monitor = new MemoryMonitor(STEP_MS, WINDOW_MS, 0);
    monitor.record(sample(0, 40 * MB));
    monitor.record(sample(10_000, 40 * MB + 30 * 200_000, 30));
    expect(monitor.bytesPerConnection()).toBe(200_000);
    expect(monitor.streamCost()).toBeNull();
    const streams = STREAM_COST_MIN_STREAMS * 10;
    monitor.record(sample(20_000, 40 * MB + streams * 10_000, streams));
    monitor.record(sample(21_000, 40 * MB + streams * 12_000, streams));
    expect(monitor.streamCost()).toEqual({ bytes: 10_000, low: 10_000, high: 12_000, streams });
  });
});
