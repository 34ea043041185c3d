import { EncodedFrame } from '@herald/nest-sse';
import type { PresenceTracker } from '../presence/presence-tracker.js';
import type { Subscription } from './subscription.js';

/** How often the watched topics' counts are read: at most one presence frame per topic per second. */
export const PRESENCE_FRAME_INTERVAL_MS = 1_000;

/**
 * `presence=1` streams: once a second, one read of every watched topic's
 * count (one round trip with Redis), then each changed count to its streams
 * as one frame encoded once per topic. Costs nothing while no stream asks.
 * A failed read sends nothing: no count is better than a wrong one.
 */
export class PresenceFrames {
  private readonly watchers = new Map<string, Set<Subscription>>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly presence: PresenceTracker,
    private readonly intervalMs = PRESENCE_FRAME_INTERVAL_MS,
  ) {}

  watch(subscription: Subscription): void {
    for (const topic of subscription.topics) {
      let set = this.watchers.get(topic);
      if (!set) this.watchers.set(topic, (set = new Set()));
      set.add(subscription);
    }
    if (this.timer === undefined) {
      this.timer = setInterval(this.tick, this.intervalMs);
      this.timer.unref();
    }
  }

  unwatch(subscription: Subscription): void {
    for (const topic of subscription.topics) {
      const set = this.watchers.get(topic);
      if (!set) continue;
      set.delete(subscription);
      if (set.size === 0) this.watchers.delete(topic);
    }
    if (this.watchers.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    if (this.reading) return;
    this.reading = true;
    const topics = [...this.watchers.keys()];
    this.presence
      .counts(topics)
      .then(
        (counts) => topics.forEach((topic, i) => this.send(topic, counts[i])),
        () => undefined,
      )
      .finally(() => (this.reading = false));
  };

  private send(topic: string, subscribers: number): void {
    let frame: EncodedFrame | undefined;
    const encode = (): EncodedFrame =>
      (frame ??= EncodedFrame.of({ event: 'presence', data: JSON.stringify({ topic, subscribers }) }));
    for (const subscription of this.watchers.get(topic) ?? []) subscription.notePresence(topic, subscribers, encode);
  }
}
