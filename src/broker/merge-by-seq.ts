import type { HeraldEvent } from './herald-event.js';

/** Merges per-topic lists (each already in seq order) into one list in seq order. */
export function mergeBySeq(lists: readonly HeraldEvent[][]): HeraldEvent[] {
  const nonEmpty = lists.filter((list) => list.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) return nonEmpty[0];
  return nonEmpty.flat().sort((a, b) => a.seq - b.seq);
}
