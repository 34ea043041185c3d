import { Logger } from '@nestjs/common';
import type { OccupancyListener } from './occupancy-source.js';
import { LocalCounts, sweepIntervalMs, TransitionListeners } from './local-counts.js';
import type { MemberKey, PresencePage, PresenceTracker } from './presence-tracker.js';

/**
 * Presence of one instance (the memory broker): the counts are local and
 * exact; a topic that reaches zero is `vacated` once it has stayed there for
 * the grace, and one that comes back within it was never vacated.
 */
export class MemoryPresence implements PresenceTracker {
  readonly enabled = true;
  private readonly logger = new Logger('Presence');
  private readonly local = new LocalCounts();
  /** Topics at zero, waiting out the grace: insertion order is the order they reached zero. */
  private readonly vacating = new Map<string, number>();
  private readonly listeners = new TransitionListeners((error) =>
    this.logger.error({ msg: 'occupancy listener failed', error: String(error) }),
  );
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly graceMs: number) {
    this.timer = setInterval(() => this.sweep(Date.now()), sweepIntervalMs(graceMs));
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  join(topic: string, member: MemberKey | undefined): void {
    if (!this.local.join(topic, member)) return;
    if (!this.vacating.delete(topic)) this.listeners.emit({ event: 'occupied', topic, at: Date.now() });
  }

  leave(topic: string, member: MemberKey | undefined): void {
    if (this.local.leave(topic, member)) this.vacating.set(topic, Date.now());
  }

  onTransition(listener: OccupancyListener): () => void {
    return this.listeners.add(listener);
  }

  counts(topics: readonly string[]): Promise<number[]> {
    return Promise.resolve(topics.map((topic) => this.local.topics.get(topic) ?? 0));
  }

  members(topic: string, after: MemberKey | undefined, limit: number): Promise<PresencePage> {
    return Promise.resolve(this.local.page(topic, after, limit));
  }

  occupied(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    return Promise.resolve(this.local.occupied(prefix, after, limit));
  }

  /** `vacated` for each topic whose grace is over: O(due). */
  sweep(now: number): void {
    for (const [topic, at] of this.vacating) {
      if (at + this.graceMs > now) break;
      this.vacating.delete(topic);
      this.listeners.emit({ event: 'vacated', topic, at });
    }
  }
}
