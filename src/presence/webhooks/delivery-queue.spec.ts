import { describe, expect, it } from '@jest/globals';
import { DeliveryQueue } from './delivery-queue.js';

/** A queue whose runs stay open until the test finishes them, by item. */
function harness(capacity: number, concurrency: number) {
  const started: string[] = [];
  const dropped: string[] = [];
  const finish = new Map<string, () => void>();
  let idle = 0;
  const queue = new DeliveryQueue<string>({
    capacity,
    concurrency,
    run: (item) => {
      started.push(item);
      return new Promise<void>((resolve) => finish.set(item, resolve));
    },
    dropped: (item) => dropped.push(item),
    idle: () => idle++,
  });
  const done = async (item: string): Promise<void> => {
    const resolve = finish.get(item);
    if (!resolve) throw new Error(`${item} is not running`);
    finish.delete(item);
    resolve();
    // `finally` of the run, then the pump: two turns of the microtask queue.
    for (let i = 0; i < 3; i++) await Promise.resolve();
  };
  return { queue, started, dropped, done, idle: () => idle };
}

describe('DeliveryQueue', () => {
  it('runs a lane one item at a time, in order: a later item never overtakes one still running', async () => {
    const { queue, started, done } = harness(10, 4);
    queue.push('rooms/1', 'occupied');
    queue.push('rooms/1', 'vacated');
    queue.push('rooms/1', 'occupied again');
    expect(started).toEqual(['occupied']);
    await done('occupied');
    expect(started).toEqual(['occupied', 'vacated']);
    await done('vacated');
    expect(started).toEqual(['occupied', 'vacated', 'occupied again']);
  });

  it('runs other lanes side by side, up to the concurrency, then in the order they became ready', async () => {
    const { queue, started, done } = harness(10, 2);
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    queue.push('c', 'c1');
    expect(started).toEqual(['a1', 'b1']);
    await done('b1');
    // `a` became ready before `c`, but is still running a1: c1 takes the free slot.
    expect(started).toEqual(['a1', 'b1', 'c1']);
    await done('a1');
    expect(started).toEqual(['a1', 'b1', 'c1', 'a2']);
  });

  it('drops the oldest waiting item when full (never a running one), and keeps each lane in order', async () => {
    const { queue, started, dropped, done } = harness(3, 1);
    queue.push('a', 'a1');
    queue.push('a', 'a2');
    queue.push('b', 'b1');
    queue.push('a', 'a3');
    expect([started, dropped]).toEqual([['a1'], []]);
    queue.push('b', 'b2');
    expect(dropped).toEqual(['a2']);
    queue.push('c', 'c1');
    expect(dropped).toEqual(['a2', 'b1']);
    expect(queue.size).toBe(4);
    await done('a1');
    await done('b2');
    await done('c1');
    expect(started).toEqual(['a1', 'b2', 'c1', 'a3']);
  });

  it('says when it is idle, and clear() forgets what waits but lets running items finish', async () => {
    const { queue, started, done, idle } = harness(10, 1);
    queue.push('a', 'a1');
    queue.push('b', 'b1');
    await done('a1');
    await done('b1');
    expect(idle()).toBe(1);
    queue.push('a', 'a2');
    queue.push('a', 'a3');
    queue.clear();
    expect(queue.size).toBe(1);
    await done('a2');
    expect(started).toEqual(['a1', 'b1', 'a2']);
    expect(idle()).toBe(2);
  });

  it('stays bounded and ordered through many items on many lanes', async () => {
    const runs: string[] = [];
    let dropped = 0;
    const queue = new DeliveryQueue<string>({
      capacity: 50,
      concurrency: 3,
      run: async (item) => {
        runs.push(item);
        await new Promise((resolve) => setImmediate(resolve));
      },
      dropped: () => dropped++,
    });
    for (let i = 0; i < 5_000; i++) queue.push(`t${i % 7}`, `t${i % 7}:${i}`);
    expect(queue.size).toBeLessThanOrEqual(53);
    while (queue.size > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(runs.length + dropped).toBe(5_000);
    for (let lane = 0; lane < 7; lane++) {
      const order = runs.filter((item) => item.startsWith(`t${lane}:`)).map((item) => Number(item.split(':')[1]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });
});
