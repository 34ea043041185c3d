import { describe, expect, it } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import { EventLoopSampler } from '../process/event-loop-sampler.js';
import { EventLoopWatch, ProcessHealthIndicator } from './process.health.js';

const limits = { eventLoopStallMs: 500, stallWindowMs: 5_000, heapUsedBytes: 100 * 1_048_576 };

describe('EventLoopWatch', () => {
  it('keeps the longest lateness heard and the last stall beyond the limit', () => {
    const watch = new EventLoopWatch(500);
    watch.record(0, 100); // on time
    watch.record(50, 250); // 50 ms late
    expect(watch.lastStall).toBeUndefined();
    expect(watch.takeMax()).toBe(50);
    expect(watch.takeMax()).toBe(0);
    watch.record(700.4, 1_050); // 700 ms late (the sampler's clock has fractions)
    expect(watch.lastStall).toEqual({ ms: 700, at: 1_050 });
  });
});

describe('ProcessHealthIndicator', () => {
  // A sampler due every 100 ms whose timer never runs: the test fires it.
  const sampler = (): EventLoopSampler => new EventLoopSampler(100, () => 0);
  const subject = (clock = sampler()) => {
    const indicator = new ProcessHealthIndicator(new HealthIndicatorService(), clock, limits);
    indicator.onApplicationBootstrap();
    return indicator;
  };

  it('is live while no stall beyond the bound happened', () => {
    const clock = sampler();
    const indicator = subject(clock);
    clock.tick(130, 130);
    expect(indicator.isEventLoopResponsive(200).eventLoop).toMatchObject({ status: 'up', recentMaxLagMs: 30 });
  });

  it('is down for the window after a stall beyond the bound, then up again', () => {
    const clock = sampler();
    const indicator = subject(clock);
    clock.tick(1_000, 1_000); // 900 ms late
    expect(indicator.isEventLoopResponsive(1_001).eventLoop).toMatchObject({ status: 'down', stallMs: 900 });
    expect(indicator.isEventLoopResponsive(1_000 + limits.stallWindowMs).eventLoop.status).toBe('down');
    expect(indicator.isEventLoopResponsive(1_001 + limits.stallWindowMs).eventLoop.status).toBe('up');
  });

  it('stops listening when the module is destroyed', () => {
    const clock = sampler();
    const indicator = subject(clock);
    indicator.onModuleDestroy();
    clock.tick(1_000, 1_000);
    expect(indicator.isEventLoopResponsive(1_001).eventLoop.status).toBe('up');
  });

  it('is down when the heap in use is over the hard limit', () => {
    const indicator = subject();
    expect(indicator.isHeapBelowLimit(limits.heapUsedBytes).heap).toMatchObject({ status: 'up', limitMb: 100 });
    expect(indicator.isHeapBelowLimit(limits.heapUsedBytes + 1).heap).toMatchObject({ status: 'down', usedMb: 100 });
  });

  it('by default bounds the heap below V8 own limit', () => {
    const indicator = new ProcessHealthIndicator(new HealthIndicatorService(), new EventLoopSampler());
    expect(indicator.isHeapBelowLimit().heap.status).toBe('up');
    expect(indicator.limits.heapUsedBytes).toBeGreaterThan(64 * 1_048_576);
  });
});
