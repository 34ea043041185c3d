import type { HeraldEvent } from './herald-event.js';

/**
 * One topic's retained events, oldest first, in a fixed-size ring; bounded by
 * count and by age. `lostUpTo` is the highest seq ever dropped, so a cursor
 * older than it cannot be resumed exactly. `bytes` sums the retained events'
 * raw frames (encoded once anyway, shared with every subscriber).
 */
export class TopicHistory {
  private ring: (HeraldEvent | undefined)[];
  private start = 0;
  size = 0;
  bytes = 0;
  lostUpTo = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<HeraldEvent | undefined>(Math.min(capacity, 16));
  }

  push(event: HeraldEvent): void {
    if (this.size === this.capacity) this.dropOldest();
    if (this.size === this.ring.length) this.grow();
    this.ring[(this.start + this.size) % this.ring.length] = event;
    this.size++;
    this.bytes += event.frame('raw').length;
  }

  /** Drops events published before `cutoffTs`. */
  expire(cutoffTs: number): void {
    while (this.size > 0 && this.at(0).ts < cutoffTs) this.dropOldest();
  }

  /** Events with seq > `afterSeq`, oldest first. */
  after(afterSeq: number): HeraldEvent[] {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    const out: HeraldEvent[] = [];
    for (let i = lo; i < this.size; i++) out.push(this.at(i));
    return out;
  }

  /** The newest retained event, if any. */
  newest(): HeraldEvent | undefined {
    return this.size === 0 ? undefined : this.at(this.size - 1);
  }

  private at(index: number): HeraldEvent {
    return this.ring[(this.start + index) % this.ring.length] as HeraldEvent;
  }

  private dropOldest(): void {
    const oldest = this.at(0);
    this.lostUpTo = Math.max(this.lostUpTo, oldest.seq);
    this.bytes -= oldest.frame('raw').length;
    this.ring[this.start] = undefined;
    this.start = (this.start + 1) % this.ring.length;
    this.size--;
  }

  private grow(): void {
    const next = new Array<HeraldEvent | undefined>(Math.min(this.capacity, this.ring.length * 2));
    for (let i = 0; i < this.size; i++) next[i] = this.at(i);
    this.ring = next;
    this.start = 0;
  }
}
