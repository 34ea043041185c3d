/** A fixed-capacity buffer that keeps the newest `capacity` items (oldest overwritten). */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The newest item, or undefined when empty. */
  latest(): T | undefined {
    return this.count === 0 ? undefined : this.items[(this.next - 1 + this.capacity) % this.capacity];
  }

  /** Oldest to newest. */
  *values(): IterableIterator<T> {
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) yield this.items[(start + i) % this.capacity] as T;
  }

  /** The oldest item that is still `predicate`-true, scanning from the oldest (for "the sample ≥ 60 s ago"). */
  first(predicate: (item: T) => boolean): T | undefined {
    for (const item of this.values()) if (predicate(item)) return item;
    return undefined;
  }

  toArray(): T[] {
    return [...this.values()];
  }
}
