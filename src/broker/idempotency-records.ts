import { formatEventId } from '@herald/sse';

/** What a publish with an `Idempotency-Key` left behind: enough to answer a repeat with the same ids. */
interface IdempotencyRecord {
  fingerprint: string;
  epoch: string;
  /** A publish's events have consecutive seqs: the first and how many. */
  firstSeq: number;
  count: number;
  expiresAt: number;
}

/**
 * The memory broker's idempotency records: one Map, in insertion order. Every
 * record lives for the same TTL, so insertion order is expiry order and a
 * sweep stops at the first live record (O(expired)). Past `maxRecords` the
 * oldest is forgotten early: memory stays bounded whatever publishers send.
 */
export class IdempotencyRecords {
  private readonly records = new Map<string, IdempotencyRecord>();
  /** Records forgotten before their TTL because the map was full. */
  evicted = 0;

  constructor(readonly maxRecords: number) {}

  get size(): number {
    return this.records.size;
  }

  /** The live record for `key`, if any (an expired one is dropped). */
  find(key: string, now: number): IdempotencyRecord | undefined {
    const record = this.records.get(key);
    if (record === undefined || record.expiresAt > now) return record;
    this.records.delete(key);
    return undefined;
  }

  remember(key: string, record: IdempotencyRecord): void {
    this.records.set(key, record);
    if (this.records.size <= this.maxRecords) return;
    const oldest = this.records.keys().next();
    if (!oldest.done) {
      this.records.delete(oldest.value);
      this.evicted++;
    }
  }

  /** Drops expired records from the front. */
  sweep(now: number): void {
    for (const [key, record] of this.records) {
      if (record.expiresAt > now) return;
      this.records.delete(key);
    }
  }
}

/** The ids of a recorded publish. */
export function recordedIds(record: { epoch: string; firstSeq: number; count: number }): string[] {
  const ids: string[] = [];
  for (let i = 0; i < record.count; i++) ids.push(formatEventId(record.epoch, record.firstSeq + i));
  return ids;
}
