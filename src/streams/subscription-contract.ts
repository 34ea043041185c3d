import type { EncodedFrame, CloseOptions } from '@herald/nest-sse';
import type { EventCursor } from '@herald/sse';
import type { ReplayResult } from '../broker/event-broker.js';
import type { StreamFormat } from '../broker/herald-event.js';
import type { MemberKey } from '../presence/presence-tracker.js';
import type { SlowConsumerPolicy } from './slow-consumer-policy.js';
import type { CloseReason } from './stream-counters.js';
import type { Subscription } from './subscription.js';

/**
 * What a `Subscription` is given and talks to: the request it was opened
 * with, the registry that owns it (replay reads, the slow-consumer policy,
 * the counters it reports to), the writer's side of its stream, and the sink
 * its frames go to. Types only; `subscription.ts` re-exports them, so callers
 * import from there.
 */

export interface SubscriptionInit {
  id: string;
  ip: string;
  tenant: string | undefined;
  topics: readonly string[];
  format: StreamFormat;
  /** The parsed `Last-Event-ID`, null when none was given. */
  cursor: EventCursor | null;
  /** The `Last-Event-ID` as the client sent it (echoed in `reset`). */
  lastEventId: string | undefined;
  /** `since=latest`: each topic's newest event first, unless the cursor resumes. */
  latest: boolean;
  /** `conflate=1`: when behind, hold the newest event per topic instead of being cut. */
  conflate: boolean;
  /** Who holds the stream in presence (the token's `sub` and `tenant`); undefined: anonymous. */
  member: MemberKey | undefined;
  /** `presence=1`: `event: presence` frames for the subscribed topics. */
  presence: boolean;
}

/** What a subscription needs from the registry that owns it. */
export interface SubscriptionHost {
  /** Counts dispatch turns: the slow-consumer check looks at what was left unsent before this turn. */
  readonly turn: number;
  readonly slowConsumers: SlowConsumerPolicy;
  replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult>;
  latest(topics: readonly string[]): Promise<ReplayResult>;
  onClosed(subscription: Subscription, reason: CloseReason): void;
  /** Events written from the backlog (replay and catch-up), outside live dispatch. */
  onBacklogWritten(count: number, bytes: number): void;
  /** Events a conflated stream dropped for a newer one of their topic. */
  onConflated(count: number): void;
}

/** The stream writer's side a subscription uses: back-pressure, corking, and the end. */
export interface SubscriptionStream {
  readonly unsentBytes: number;
  onceDrained(listener: () => void): () => void;
  cork(): boolean;
  uncork(): void;
  close(reason: string, options?: CloseOptions): void;
}

/** Where a subscription's frames go: the subscriber of the stream's Observable. */
export interface FrameSink {
  next(frame: EncodedFrame): void;
}
