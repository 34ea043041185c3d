import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { PublishRateStorage } from './publish-rate-storage.js';

/** A small deterministic generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('PublishRateStorage', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it.each([
    ['blocking past the limit (what the publish guard uses)', 1_000],
    ['without a block', 0],
  ])('answers every request exactly as @nestjs/throttler’s own storage, %s', async (_, blockDuration) => {
    jest.useFakeTimers({ now: 1_000_000 });
    const ours = new PublishRateStorage(() => Date.now());
    const theirs = new ThrottlerStorageService();
    const next = random(blockDuration + 7);
    try {
      for (let i = 0; i < 5_000; i++) {
        // Bursts and pauses: from the same millisecond to past a window and a block.
        const r = next();
        jest.advanceTimersByTime(r < 0.6 ? 0 : r < 0.9 ? Math.floor(next() * 50) : Math.floor(next() * 2_500));
        const key = `tracker-${Math.floor(next() * 3)}`;
        const args = [key, 1_000, 20, blockDuration, 'default'] as const;
        expect({ i, ...(await ours.increment(...args)) }).toEqual({ i, ...(await theirs.increment(...args)) });
      }
    } finally {
      ours.onApplicationShutdown();
      theirs.onApplicationShutdown();
    }
  });

  it('costs O(1) per request however many hits the window holds', async () => {
    let now = 0;
    const storage = new PublishRateStorage(() => now);
    try {
      // A limit of 10 million per hour, 200,000 hits into it.
      for (let i = 0; i < 200_000; i++) await storage.increment('busy', 3_600_000, 10_000_000, 3_600_000, 'default');
      now = 1;
      const started = performance.now();
      let last;
      for (let i = 0; i < 20_000; i++) {
        last = await storage.increment('busy', 3_600_000, 10_000_000, 3_600_000, 'default');
      }
      const elapsedMs = performance.now() - started;
      expect(last).toMatchObject({ totalHits: 220_000, isBlocked: false });
      // The library's log filter would touch 4 billion entries here.
      expect(elapsedMs).toBeLessThan(500);
      // Once the hour is over, every one of those hits has expired at once.
      now = 3_600_001;
      expect(await storage.increment('busy', 3_600_000, 10_000_000, 3_600_000, 'default')).toMatchObject({
        totalHits: 1,
        isBlocked: false,
      });
    } finally {
      storage.onApplicationShutdown();
    }
  });

  it('the sweep drops only the windows with nothing left in them', async () => {
    let now = 0;
    const storage = new PublishRateStorage(() => now);
    try {
      await storage.increment('idle', 1_000, 5, 1_000, 'default');
      for (let i = 0; i < 6; i++) await storage.increment('blocked', 1_000, 5, 10_000, 'default');
      now = 900;
      await storage.increment('live', 1_000, 5, 1_000, 'default');
      now = 1_500;
      storage.sweep();
      expect(storage.size).toBe(2); // 'live' has a hit until 1,900; 'blocked' is blocked until 10,000
      now = 10_001;
      storage.sweep();
      expect(storage.size).toBe(0);
    } finally {
      storage.onApplicationShutdown();
    }
  });
});
