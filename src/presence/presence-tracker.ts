import { unavailable } from '../http/unavailable.error.js';
import type { OccupancySource } from './occupancy-source.js';

/** Injection token of the `PresenceTracker` in use (memory, Redis, or off). */
export const PRESENCE = Symbol('PRESENCE');

/**
 * Who holds a stream, as one string: `JSON.stringify([sub, tenant])`. Streams
 * without a JWT `sub` have none: they are counted, never listed.
 */
export type MemberKey = string;

export function memberKey(sub: string | undefined, tenant: string | undefined): MemberKey | undefined {
  return sub === undefined ? undefined : JSON.stringify([sub, tenant ?? null]);
}

export function parseMemberKey(key: MemberKey): { sub: string; tenant: string | null } {
  const [sub, tenant] = JSON.parse(key) as [string, string | null];
  return { sub, tenant };
}

export interface PresencePage {
  /** Open streams on the topic, across every instance. */
  subscribers: number;
  /** Of those, the streams without a `sub`. */
  anonymous: number;
  /** Members after the cursor in key order, with their stream counts. */
  members: { key: MemberKey; connections: number }[];
  /** The last member key of this page when more may follow. */
  next: MemberKey | undefined;
}

/** The tracker cannot answer exactly right now (Redis unreachable, or this instance's counts not yet written). */
export class PresenceUnavailableError extends unavailable('presence') {
  override name = 'PresenceUnavailableError';
}

/**
 * Counts open streams per topic and per member, across the cluster. `join` and
 * `leave` are the hot path (called once per topic of each stream that opens or
 * closes): O(1) in memory, written to Redis at most once per event-loop turn.
 * Reads reject with `PresenceUnavailableError` rather than answer a number
 * that may be wrong.
 */
export interface PresenceTracker extends OccupancySource {
  readonly enabled: boolean;
  join(topic: string, member: MemberKey | undefined): void;
  leave(topic: string, member: MemberKey | undefined): void;
  /** Subscribers of each topic, cluster-wide, in the order asked. */
  counts(topics: readonly string[]): Promise<number[]>;
  /** A page of the topic's members, `limit` at most, after `after` (exclusive). */
  members(topic: string, after: MemberKey | undefined, limit: number): Promise<PresencePage>;
  /** Topics with at least one subscriber, in code-unit order, starting with `prefix`, after `after`. */
  occupied(prefix: string, after: string | undefined, limit: number): Promise<string[]>;
}

/** Tracks nothing (PRESENCE=off): the routes that need it answer 404. */
export class PresenceOff implements PresenceTracker {
  readonly enabled = false;
  join(): void {}
  leave(): void {}
  onTransition(): () => void {
    return () => undefined;
  }
  counts(): Promise<number[]> {
    return Promise.reject(new PresenceUnavailableError('presence is off (PRESENCE=off)'));
  }
  members(): Promise<PresencePage> {
    return this.counts().then(() => ({ subscribers: 0, anonymous: 0, members: [], next: undefined }));
  }
  occupied(): Promise<string[]> {
    return this.counts().then(() => []);
  }
}
