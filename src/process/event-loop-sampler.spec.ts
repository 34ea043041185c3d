import { describe, expect, it } from '@jest/globals';
import { EventLoopSampler } from './event-loop-sampler.js';

describe('EventLoopSampler', () => {
  it('tells each listener how late each firing ran, beyond its own period', () => {
    const sampler = new EventLoopSampler(100, () => 0);
    const heard: [number, number][] = [];
    const heardToo: number[] = [];
    sampler.listen((lateMs, at) => heard.push([lateMs, at]));
    const stop = sampler.listen((lateMs) => heardToo.push(lateMs));
    sampler.tick(100, 1); // on time
    sampler.tick(250, 2); // 50 ms late
    stop();
    sampler.tick(1_050, 3); // 700 ms late
    expect(heard).toEqual([
      [0, 1],
      [50, 2],
      [700, 3],
    ]);
    expect(heardToo).toEqual([0, 50]);
  });

  it('on its real timer, a blocked loop is heard as lateness of about the block', async () => {
    const sampler = new EventLoopSampler();
    const heard: number[] = [];
    sampler.listen((lateMs) => heard.push(lateMs));
    sampler.onModuleInit();
    try {
      await new Promise((resolve) => setTimeout(resolve, 60));
      const until = Date.now() + 150;
      while (Date.now() < until) {
        // Busy-wait: the sampler's timer cannot fire for 150 ms.
      }
      await new Promise((resolve) => setTimeout(resolve, 60));
    } finally {
      sampler.onModuleDestroy();
    }
    expect(heard.length).toBeGreaterThan(2);
    expect(Math.max(...heard)).toBeGreaterThanOrEqual(100);
    const count = heard.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(heard).toHaveLength(count);
  });
});
