import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

/** What `ThrottlerStorage.increment` answers (the type @nestjs/throttler declares). */
interface RateRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** One tracker's window: when each counted hit expires, oldest first, from `head` on. */
interface Window {
  expirations: number[];
  head: number;
  expiresAt: number;
  isBlocked: boolean;
  blockExpiresAt: number;
}

/** Idle windows are dropped this often (one pass over the trackers, O(1) each). */
const SWEEP_INTERVAL_MS = 60_000;
/** The queue's consumed front is cut off once it is this long and more than half of it. */
const COMPACT_AFTER = 1_024;

const seconds = (ms: number): number => Math.ceil(ms / 1000);

/**
 * The publish limiter's memory, answering exactly as @nestjs/throttler's own
 * `ThrottlerStorageService` does (a sliding log of hits; past the limit a
 * tracker is blocked for `blockDuration`), in O(1) per request instead of
 * O(hits in the window): every hit of a window lives for the same `ttl`, so
 * expirations arrive in order and expire from the front of a queue. The
 * library's service filters the whole log on every request, which at the
 * default 10,000 per second cost ~20 µs a publish, and milliseconds (a blocked
 * event loop) with a large limit over a long window.
 *
 * Windows are per tracker and throttler name (the library shares one record's
 * expiry and block between the names of one tracker; Herald has one throttler).
 */
export class PublishRateStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Trackers with a window in memory. */
  get size(): number {
    return this.windows.size;
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<RateRecord> {
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    const now = this.clock();
    const id = `${throttlerName}\n${key}`;
    let window = this.windows.get(id);
    if (window === undefined) {
      window = { expirations: [], head: 0, expiresAt: now + ttl, isBlocked: false, blockExpiresAt: 0 };
      this.windows.set(id, window);
    }
    expire(window, now);
    if (window.expiresAt <= now) window.expiresAt = now + ttl;
    const timeToExpire = seconds(window.expiresAt - now);

    if (blockDuration <= 0) {
      const isBlocked = hits(window) >= limit;
      if (!isBlocked) window.expirations.push(now + ttl);
      const timeToBlockExpire = hits(window) > 0 ? seconds(window.expirations[window.head] - now) : timeToExpire;
      return Promise.resolve({
        totalHits: hits(window) + (isBlocked ? 1 : 0),
        timeToExpire,
        isBlocked,
        timeToBlockExpire: isBlocked ? timeToBlockExpire : 0,
      });
    }

    if (!window.isBlocked) window.expirations.push(now + ttl);
    if (hits(window) > limit && !window.isBlocked) {
      window.isBlocked = true;
      window.blockExpiresAt = now + blockDuration;
    }
    const timeToBlockExpire = seconds(window.blockExpiresAt - now);
    if (timeToBlockExpire <= 0 && window.isBlocked) {
      // The block is over: the window starts again with this request.
      window.isBlocked = false;
      window.expirations = [now + ttl];
      window.head = 0;
    }
    return Promise.resolve({ totalHits: hits(window), timeToExpire, isBlocked: window.isBlocked, timeToBlockExpire });
  }

  /** Drops the windows with nothing left in them: no live hit, no block, past their expiry. */
  sweep(now = this.clock()): void {
    for (const [id, window] of this.windows) {
      if (window.isBlocked && window.blockExpiresAt > now) continue;
      if (window.expiresAt > now) continue;
      const last = window.expirations[window.expirations.length - 1];
      if (hits(window) > 0 && last > now) continue;
      this.windows.delete(id);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.windows.clear();
  }
}

function hits(window: Window): number {
  return window.expirations.length - window.head;
}

/** Forgets the hits that expired by `now` (the front of the queue). */
function expire(window: Window, now: number): void {
  const { expirations } = window;
  while (window.head < expirations.length && expirations[window.head] <= now) window.head++;
  if (window.head >= COMPACT_AFTER && window.head * 2 > expirations.length) {
    window.expirations = expirations.slice(window.head);
    window.head = 0;
  }
}
