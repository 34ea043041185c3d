import { describe, expect, it } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import { EventLoopWatch, ProcessHealthIndicator } from './process.health.js';

const limits = { eventLoopStallMs: 500, stallWindowMs: 5_000, heapUsedBytes: 100 * 1_048_576 };

describe('EventLoopWatch', () => {
  it('measures how late the timer fired, and keeps the last stall beyond the limit', () => {
    const watch = new EventLoopWatch(500);
    watch.start(0);
    watch.stop();
    watch.sample(100); // on time
    watch.sample(250); // 50 ms late
    expect(watch.lastStall).toBeUndefined();
    expect(watch.takeMax()).toBe(50);
    expect(watch.takeMax()).toBe(0);
    watch.sample(1_050); // 700 ms late
    expect(watch.lastStall).toEqual({ ms: 700, at: 1_050 });
  });
});

describe('ProcessHealthIndicator', () => {
  const subject = () => new ProcessHealthIndicator(new HealthIndicatorService(), limits);

  it('is live while no stall beyond the bound happened', () => {
    const indicator = subject();
    indicator.eventLoop.start(0);
    indicator.eventLoop.stop();
    indicator.eventLoop.sample(130);
    expect(indicator.isEventLoopResponsive(200).eventLoop).toMatchObject({ status: 'up', recentMaxLagMs: 30 });
  });

  it('is down for the window after a stall beyond the bound, then up again', () => {
    const indicator = subject();
    indicator.eventLoop.start(0);
    indicator.eventLoop.stop();
    indicator.eventLoop.sample(1_000); // 900 ms late
    expect(indicator.isEventLoopResponsive(1_001).eventLoop).toMatchObject({ status: 'down', stallMs: 900 });
    expect(indicator.isEventLoopResponsive(1_000 + limits.stallWindowMs).eventLoop.status).toBe('down');
    expect(indicator.isEventLoopResponsive(1_001 + limits.stallWindowMs).eventLoop.status).toBe('up');
  });

  it('is down when the heap in use is over the hard limit', () => {
    const indicator = subject();
    expect(indicator.isHeapBelowLimit(limits.heapUsedBytes).heap).toMatchObject({ status: 'up', limitMb: 100 });
    expect(indicator.isHeapBelowLimit(limits.heapUsedBytes + 1).heap).toMatchObject({ status: 'down', usedMb: 100 });
  });

  it('by default bounds the heap below V8 own limit', () => {
    const indicator = new ProcessHealthIndicator(new HealthIndicatorService());
    expect(indicator.isHeapBelowLimit().heap.status).toBe('up');
    expect(indicator.limits.heapUsedBytes).toBeGreaterThan(64 * 1_048_576);
  });
});
