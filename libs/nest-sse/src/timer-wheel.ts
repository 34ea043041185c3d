/** Something the wheel calls back at (or shortly after) the time it was filed for. */
export interface Timed {
  /** The slot the wheel filed it in, -1 when it is not filed; owned by the wheel. */
  wheelSlot: number;
  onTimer(now: number): void;
}

/**
 * Timers by due time: entries are filed in slots of `resolutionMs`, and one
 * interval (running only while something is filed) calls back the entries of
 * the slots that have come due. Cost is O(entries due), not O(entries): ten
 * thousand idle streams whose heartbeat is 15 s away cost nothing per tick.
 */
export class TimerWheel {
  private readonly slots = new Map<number, Set<Timed>>();
  private size = 0;
  private cursor: number;
  private interval: NodeJS.Timeout | undefined;

  constructor(
    readonly resolutionMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(resolutionMs > 0)) throw new RangeError(`resolutionMs must be positive, got ${resolutionMs}`);
    this.cursor = Math.floor(clock() / resolutionMs);
  }

  /** Entries filed. */
  get pending(): number {
    return this.size;
  }

  /** Files `entry` for time `at` (ms since the epoch), replacing an earlier filing. */
  schedule(entry: Timed, at: number): void {
    this.cancel(entry);
    if (this.size === 0) this.cursor = Math.floor(this.clock() / this.resolutionMs);
    // Never in a slot already passed: it would wait a whole turn of nothing.
    const slot = Math.max(Math.ceil(at / this.resolutionMs), this.cursor + 1);
    let set = this.slots.get(slot);
    if (set === undefined) this.slots.set(slot, (set = new Set()));
    set.add(entry);
    entry.wheelSlot = slot;
    this.size++;
    if (this.interval === undefined) {
      this.interval = setInterval(() => this.advance(this.clock()), this.resolutionMs);
      this.interval.unref();
    }
  }

  cancel(entry: Timed): void {
    if (entry.wheelSlot < 0) return;
    const set = this.slots.get(entry.wheelSlot);
    if (set?.delete(entry)) {
      this.size--;
      if (set.size === 0) this.slots.delete(entry.wheelSlot);
    }
    entry.wheelSlot = -1;
    if (this.size === 0) this.stop();
  }

  /** Calls back every entry due by `now` (the interval does this; tests call it with their own clock). */
  advance(now: number): void {
    const target = Math.floor(now / this.resolutionMs);
    while (this.cursor < target && this.size > 0) {
      this.cursor++;
      const due = this.slots.get(this.cursor);
      if (due === undefined) continue;
      this.slots.delete(this.cursor);
      this.size -= due.size;
      for (const entry of due) {
        entry.wheelSlot = -1;
        entry.onTimer(now);
      }
    }
    if (this.cursor < target) this.cursor = target;
    if (this.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.interval);
    this.interval = undefined;
  }
}
