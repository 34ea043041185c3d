import type { LiveLoss, ReplayResult } from '../broker/event-broker.js';
import { HeraldEvent } from '../broker/herald-event.js';

/**
 * The backlog of a subscription that is not live yet: replayed events, then
 * the live events and losses that arrived while the replay was read (shared
 * event objects, bounded by the slow-consumer policy). These functions are
 * the seam between the two, kept exact by a sequence number (an event at or
 * below it was sent already), and the compaction a conflated stream applies
 * when its backlog grows too large. They run once per replay or compaction,
 * never per live delivery; the subscription keeps the state.
 */

export type BacklogEntry = HeraldEvent | LiveLoss;

/**
 * `since=latest`: each topic's newest event goes first; waiting live events at
 * or below the head of that read are older than (or are) them.
 */
export function latestFirst(backlog: readonly BacklogEntry[], latest: ReplayResult): BacklogEntry[] {
  const live = backlog.filter((entry) => !(entry instanceof HeraldEvent) || entry.seq > latest.headSeq);
  return [...latest.events, ...live];
}

/** The seam after `latestFirst`: just below the first newest event, else the read's head. */
export function latestSeam(latest: ReplayResult, lastSeq: number): number {
  return latest.events.length > 0 ? latest.events[0].seq - 1 : Math.max(lastSeq, latest.headSeq);
}

/**
 * A conflated stream caught up too slowly to hold every live event: what is
 * left keeps its losses and the newest event per topic, in order. `dropped`
 * counts the live events (above `lastSeq`) given up for a newer one.
 */
export function newestPerTopic(
  rest: readonly BacklogEntry[],
  lastSeq: number,
): { kept: BacklogEntry[]; dropped: number } {
  const newest = new Map<string, HeraldEvent>();
  for (const entry of rest) {
    if (!(entry instanceof HeraldEvent)) continue;
    const held = newest.get(entry.topic);
    if (held === undefined || entry.seq > held.seq) newest.set(entry.topic, entry);
  }
  let dropped = 0;
  const kept = rest.filter((entry) => {
    if (!(entry instanceof HeraldEvent) || newest.get(entry.topic) === entry) return true;
    if (entry.seq > lastSeq) dropped++;
    return false;
  });
  return { kept, dropped };
}
