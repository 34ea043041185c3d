import type { OccupancyListener, OccupancyTransition } from './occupancy-source.js';
import type { MemberKey, PresencePage } from './presence-tracker.js';

/**
 * This instance's open streams per topic and per (topic, member): the whole
 * truth for the memory tracker, and what the Redis tracker writes out.
 */
export class LocalCounts {
  readonly topics = new Map<string, number>();
  readonly members = new Map<string, Map<MemberKey, number>>();

  /** True when the topic went from 0 to 1 here. */
  join(topic: string, member: MemberKey | undefined): boolean {
    const count = (this.topics.get(topic) ?? 0) + 1;
    this.topics.set(topic, count);
    if (member !== undefined) {
      let members = this.members.get(topic);
      if (!members) this.members.set(topic, (members = new Map()));
      members.set(member, (members.get(member) ?? 0) + 1);
    }
    return count === 1;
  }

  /** True when the topic went from 1 to 0 here. */
  leave(topic: string, member: MemberKey | undefined): boolean {
    const count = (this.topics.get(topic) ?? 0) - 1;
    if (member !== undefined) {
      const members = this.members.get(topic);
      const left = (members?.get(member) ?? 0) - 1;
      if (members && left > 0) members.set(member, left);
      else if (members) {
        members.delete(member);
        if (members.size === 0) this.members.delete(topic);
      }
    }
    if (count > 0) {
      this.topics.set(topic, count);
      return false;
    }
    this.topics.delete(topic);
    return count === 0;
  }

  member(topic: string, member: MemberKey): number {
    return this.members.get(topic)?.get(member) ?? 0;
  }

  /** A page of one topic's members in key order (O(m log m): an admin read, not the hot path). */
  page(topic: string, after: MemberKey | undefined, limit: number): PresencePage {
    const subscribers = this.topics.get(topic) ?? 0;
    const members = this.members.get(topic) ?? new Map<MemberKey, number>();
    let named = 0;
    for (const count of members.values()) named += count;
    const keys = [...members.keys()].filter((key) => after === undefined || key > after).sort();
    const taken = keys.slice(0, limit);
    return {
      subscribers,
      anonymous: subscribers - named,
      members: taken.map((key) => ({ key, connections: members.get(key) ?? 0 })),
      next: keys.length > limit ? taken[taken.length - 1] : undefined,
    };
  }

  /** Topics with a subscriber here, starting with `prefix`, after `after`, in code-unit order. */
  occupied(prefix: string, after: string | undefined, limit: number): string[] {
    const topics: string[] = [];
    for (const topic of this.topics.keys()) {
      if (topic.startsWith(prefix) && (after === undefined || topic > after)) topics.push(topic);
    }
    return topics.sort().slice(0, limit);
  }
}

/** The occupancy listeners of one tracker; a throwing listener never reaches the stream that caused the transition. */
export class TransitionListeners {
  private readonly listeners = new Set<OccupancyListener>();

  constructor(private readonly onError: (error: unknown) => void) {}

  add(listener: OccupancyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(transition: OccupancyTransition): void {
    for (const listener of this.listeners) {
      try {
        listener(transition);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}

/** How often transitions due after the grace are looked for: a quarter of it, between 50 ms and 1 s. */
export function sweepIntervalMs(graceMs: number): number {
  return Math.min(1_000, Math.max(50, Math.floor(graceMs / 4)));
}
