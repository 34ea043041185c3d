import type { Subscription } from './subscription.js';

/** The open subscriptions of each topic: what live dispatch and loss notices look up. */
export class TopicIndex {
  private readonly byTopic = new Map<string, Set<Subscription>>();

  add(subscription: Subscription): void {
    for (const topic of subscription.topics) {
      let set = this.byTopic.get(topic);
      if (!set) this.byTopic.set(topic, (set = new Set()));
      set.add(subscription);
    }
  }

  remove(subscription: Subscription): void {
    for (const topic of subscription.topics) {
      const set = this.byTopic.get(topic);
      if (!set) continue;
      set.delete(subscription);
      if (set.size === 0) this.byTopic.delete(topic);
    }
  }

  subscribers(topic: string): ReadonlySet<Subscription> | undefined {
    return this.byTopic.get(topic);
  }

  /** The subscriptions on any of `topics`, each once. */
  onAny(topics: readonly string[]): Set<Subscription> {
    const affected = new Set<Subscription>();
    for (const topic of topics) for (const subscription of this.byTopic.get(topic) ?? []) affected.add(subscription);
    return affected;
  }

  /** Topics with at least one open stream. */
  get size(): number {
    return this.byTopic.size;
  }

  /** Open streams on each of the `limit` busiest topics. */
  top(limit: number): Record<string, number> {
    return largest(this.byTopic, limit, (set) => set.size);
  }
}

/** The `limit` largest entries, in one pass keeping a short sorted list: O(n · limit), no copy of the map. */
export function largest<V>(
  map: ReadonlyMap<string, V>,
  limit: number,
  size: (value: V) => number = (value) => value as number,
): Record<string, number> {
  const top: [string, number][] = [];
  if (limit <= 0) return {};
  for (const [key, value] of map) {
    const count = size(value);
    if (top.length === limit && count <= top[limit - 1][1]) continue;
    let at = top.length;
    while (at > 0 && top[at - 1][1] < count) at--;
    top.splice(at, 0, [key, count]);
    if (top.length > limit) top.pop();
  }
  return Object.fromEntries(top);
}
