export interface DeliveryQueueOptions<T> {
  /** Items waiting (not yet started) at most; past it the oldest waiting one is dropped. */
  capacity: number;
  /** Items running at once, each of another lane. */
  concurrency: number;
  /** Runs one item; it never rejects (failures are the runner's to count). */
  run: (item: T) => Promise<void>;
  /** Told about each item dropped to make room. */
  dropped: (item: T) => void;
  /** Called when nothing waits or runs any more. */
  idle?: () => void;
}

interface Entry<T> {
  lane: string;
  item: T;
  /** Started or dropped: no longer waiting. */
  started: boolean;
}

/**
 * The deliveries of one webhook. Items of one lane (a topic) run one at a
 * time in the order they came, so a later transition never overtakes an
 * earlier one still being retried; different lanes run side by side, up to
 * `concurrency`. The queue is bounded: a push when `capacity` items wait
 * drops the oldest waiting item. `push` never waits for anything.
 */
export class DeliveryQueue<T> {
  /** Waiting items per lane, oldest first. */
  private readonly lanes = new Map<string, Entry<T>[]>();
  /**
   * Every item since `head`, oldest first; started ones are skipped and swept out
   * now and then. The oldest waiting item is always at the head of its lane.
   */
  private order: Entry<T>[] = [];
  private head = 0;
  private waiting = 0;
  /** Lanes with waiting items and none running, in the order they became ready. */
  private readonly ready = new Set<string>();
  private readonly running = new Set<string>();

  constructor(private readonly options: DeliveryQueueOptions<T>) {}

  /** Items waiting or running. */
  get size(): number {
    return this.waiting + this.running.size;
  }

  push(lane: string, item: T): void {
    if (this.waiting >= this.options.capacity) this.dropOldest();
    const entry: Entry<T> = { lane, item, started: false };
    const waiting = this.lanes.get(lane);
    if (waiting) waiting.push(entry);
    else this.lanes.set(lane, [entry]);
    this.order.push(entry);
    this.waiting++;
    if (!this.running.has(lane)) this.ready.add(lane);
    this.pump();
  }

  /** Forgets every waiting item, uncounted (shutdown); running ones finish on their own. */
  clear(): void {
    this.lanes.clear();
    this.order = [];
    this.head = 0;
    this.waiting = 0;
    this.ready.clear();
  }

  private dropOldest(): void {
    while (this.order[this.head].started) this.head++;
    const oldest = this.order[this.head++];
    this.take(oldest.lane);
    if (!this.lanes.has(oldest.lane)) this.ready.delete(oldest.lane);
    this.options.dropped(oldest.item);
  }

  /** The oldest waiting item of `lane`, no longer waiting. */
  private take(lane: string): Entry<T> {
    const waiting = this.lanes.get(lane) as Entry<T>[];
    const entry = waiting.shift() as Entry<T>;
    if (waiting.length === 0) this.lanes.delete(lane);
    entry.started = true;
    this.waiting--;
    this.sweep();
    return entry;
  }

  /** Keeps `order` within twice what waits (plus a little): amortized O(1) per item. */
  private sweep(): void {
    while (this.head < this.order.length && this.order[this.head].started) this.head++;
    if (this.order.length - this.waiting > this.waiting + 1024) {
      this.order = this.order.filter((entry) => !entry.started);
      this.head = 0;
    }
  }

  private pump(): void {
    for (const lane of this.ready) {
      if (this.running.size >= this.options.concurrency) return;
      this.ready.delete(lane);
      this.start(lane);
    }
  }

  private start(lane: string): void {
    const { item } = this.take(lane);
    this.running.add(lane);
    void this.options.run(item).finally(() => {
      this.running.delete(lane);
      if (this.lanes.has(lane)) this.ready.add(lane);
      this.pump();
      if (this.size === 0) this.options.idle?.();
    });
  }
}
