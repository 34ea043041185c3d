import { afterEach, describe, expect, it } from '@jest/globals';
import { TimerWheel, type Timed } from './timer-wheel.js';

class Entry implements Timed {
  wheelSlot = -1;
  calls: number[] = [];
  onTimer(now: number): void {
    this.calls.push(now);
  }
}

describe('TimerWheel', () => {
  const now = 1_000_000;
  const wheels: TimerWheel[] = [];
  const wheel = (resolutionMs = 100): TimerWheel => {
    const made = new TimerWheel(resolutionMs, () => now);
    wheels.push(made);
    return made;
  };
  afterEach(() => wheels.splice(0).forEach((w) => w.stop()));

  it('calls an entry back once its slot is due, not before', () => {
    const w = wheel();
    const entry = new Entry();
    w.schedule(entry, now + 250);
    w.advance(now + 200);
    expect(entry.calls).toEqual([]);
    w.advance(now + 300);
    expect(entry.calls).toEqual([now + 300]);
    w.advance(now + 10_000);
    expect(entry.calls).toHaveLength(1);
    expect(w.pending).toBe(0);
  });

  it('costs what is due: advancing past 10,000 idle entries filed later touches none of them', () => {
    const w = wheel();
    const entries = Array.from({ length: 10_000 }, () => new Entry());
    for (const entry of entries) w.schedule(entry, now + 15_000);
    let touched = 0;
    const probe: Timed = { wheelSlot: -1, onTimer: () => touched++ };
    w.schedule(probe, now + 100);
    w.advance(now + 14_000);
    expect(touched).toBe(1);
    expect(entries.every((entry) => entry.calls.length === 0)).toBe(true);
    w.advance(now + 15_000);
    expect(entries.every((entry) => entry.calls.length === 1)).toBe(true);
  });

  it('re-filing moves an entry; cancel removes it; an entry filed in the past comes at the next slot', () => {
    const w = wheel();
    const moved = new Entry();
    const cancelled = new Entry();
    const late = new Entry();
    w.schedule(moved, now + 100);
    w.schedule(moved, now + 1_000);
    w.schedule(cancelled, now + 100);
    w.cancel(cancelled);
    w.schedule(late, now - 5_000);
    expect(w.pending).toBe(2);
    w.advance(now + 100);
    expect(late.calls).toHaveLength(1);
    expect(moved.calls).toHaveLength(0);
    expect(cancelled.calls).toHaveLength(0);
    w.advance(now + 1_000);
    expect(moved.calls).toHaveLength(1);
  });

  it('an entry may file itself again from its callback (a heartbeat every interval)', () => {
    const w = wheel();
    const beats: number[] = [];
    const heartbeat: Timed = {
      wheelSlot: -1,
      onTimer(at) {
        beats.push(at);
        w.schedule(heartbeat, at + 500);
      },
    };
    w.schedule(heartbeat, now + 500);
    for (let t = 100; t <= 2_000; t += 100) w.advance(now + t);
    expect(beats).toEqual([now + 500, now + 1_000, now + 1_500, now + 2_000]);
  });

  it('runs on its own interval only while something is filed', async () => {
    const w = new TimerWheel(10);
    wheels.push(w);
    const entry = new Entry();
    w.schedule(entry, Date.now() + 20);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(entry.calls).toHaveLength(1);
    expect(w.pending).toBe(0);
  });
});
