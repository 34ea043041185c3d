/** One subscription of one consumer (a tab, or the page itself). */
export interface UnionEntry<Owner> {
  owner: Owner;
  id: number;
  topics: readonly string[];
  /** Only these event types; null for all. */
  types: ReadonlySet<string> | null;
  /** Events published before this (server clock, ms) are not for it; undefined: no cut-off known. */
  since: number | undefined;
}

/** An event as routing sees it. */
export interface Routable {
  topic: string;
  type: string;
  ts: number;
}

/**
 * The bookkeeping of a shared stream: who wants which topics, the union of
 * those topics (what the one stream subscribes to) and, per topic, the
 * subscriptions an event goes to.
 */
export class TopicUnion<Owner> {
  private readonly byTopic = new Map<string, Set<UnionEntry<Owner>>>();
  private readonly byOwner = new Map<Owner, Map<number, UnionEntry<Owner>>>();

  /** Number of distinct topics. */
  get size(): number {
    return this.byTopic.size;
  }

  /** The union, sorted, so equal unions produce equal stream URLs. */
  topics(): string[] {
    return [...this.byTopic.keys()].sort();
  }

  /** Topics of `topics` the union does not have yet. */
  newTopics(topics: readonly string[]): string[] {
    return [...new Set(topics)].filter((topic) => !this.byTopic.has(topic));
  }

  has(owner: Owner, id: number): boolean {
    return this.byOwner.get(owner)?.has(id) ?? false;
  }

  /** Adds (or replaces) a subscription; true when the union changed. */
  add(entry: UnionEntry<Owner>): boolean {
    const replaced = this.removeEntry(entry.owner, entry.id, false);
    let owned = this.byOwner.get(entry.owner);
    if (!owned) this.byOwner.set(entry.owner, (owned = new Map()));
    owned.set(entry.id, entry);
    let grew = false;
    for (const topic of new Set(entry.topics)) {
      let set = this.byTopic.get(topic);
      if (!set) {
        this.byTopic.set(topic, (set = new Set()));
        grew = true;
      }
      set.add(entry);
    }
    const shrank = this.pruneTopics(replaced);
    return grew || shrank;
  }

  /** Removes one subscription; true when the union changed. */
  remove(owner: Owner, id: number): boolean {
    return this.pruneTopics(this.removeEntry(owner, id, true));
  }

  /** Removes every subscription of a consumer that left; true when the union changed. */
  removeOwner(owner: Owner): boolean {
    const owned = this.byOwner.get(owner);
    if (!owned) return false;
    const touched: string[] = [];
    for (const id of [...owned.keys()]) touched.push(...this.removeEntry(owner, id, true));
    return this.pruneTopics(touched);
  }

  /** The subscriptions one event goes to, by topic, type filter and cut-off. */
  *route(event: Routable): Iterable<UnionEntry<Owner>> {
    const set = this.byTopic.get(event.topic);
    if (!set) return;
    for (const entry of set) {
      if (entry.types !== null && !entry.types.has(event.type)) continue;
      if (entry.since !== undefined && event.ts < entry.since) continue;
      yield entry;
    }
  }

  /** The consumers with at least one subscription on `topic`. */
  owners(topic: string): Set<Owner> {
    return new Set([...(this.byTopic.get(topic) ?? [])].map((entry) => entry.owner));
  }

  /** Event types named by any subscription (an EventSource must listen for each). */
  types(): Set<string> {
    const types = new Set<string>();
    for (const owned of this.byOwner.values()) {
      for (const entry of owned.values()) entry.types?.forEach((type) => types.add(type));
    }
    return types;
  }

  /** Detaches an entry from its topic sets; returns the topics it was in (empty sets are pruned later). */
  private removeEntry(owner: Owner, id: number, dropOwner: boolean): string[] {
    const owned = this.byOwner.get(owner);
    const entry = owned?.get(id);
    if (!owned || !entry) return [];
    owned.delete(id);
    if (dropOwner && owned.size === 0) this.byOwner.delete(owner);
    const topics = [...new Set(entry.topics)];
    for (const topic of topics) this.byTopic.get(topic)?.delete(entry);
    return topics;
  }

  private pruneTopics(topics: readonly string[]): boolean {
    let shrank = false;
    for (const topic of topics) {
      if (this.byTopic.get(topic)?.size === 0) {
        this.byTopic.delete(topic);
        shrank = true;
      }
    }
    return shrank;
  }
}
