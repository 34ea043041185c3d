import type { EventCursor } from '@herald/sse';
import type { HeraldEvent } from './herald-event.js';

/** Injection token of the event bus and history backend. */
export const EVENT_BROKER = Symbol('EVENT_BROKER');

export interface PublishRequest {
  topic: string;
  type: string;
  data: unknown;
}

export interface ReplayResult {
  /** Events after the cursor on the requested topics, in id order. */
  events: HeraldEvent[];
  /** True when the cursor is unknown (other epoch, ahead of head) or older than retained history. */
  reset: boolean;
  /** The newest id of this history at the time of the read. */
  head: string;
  headSeq: number;
}

export type LiveListener = (events: readonly HeraldEvent[]) => void;

/** Thrown by `publish` when the backend cannot take the event (mapped to 503). */
export class BrokerUnavailableError extends Error {}

/**
 * Publish, history and the live feed. The memory and Redis implementations
 * share this shape so Streams never knows which one runs.
 */
export interface EventBroker {
  readonly kind: 'memory' | 'redis';
  /** Assigns ids and stores all events atomically; resolves once they are in history. */
  publish(requests: readonly PublishRequest[]): Promise<HeraldEvent[]>;
  /** Events after `cursor` on `topics`; `cursor` null means "from now": no events, no reset. */
  replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult>;
  /** The live feed: every event published anywhere, once per process, in id order. */
  onLive(listener: LiveListener): () => void;
  /** Current epoch (changes when history is lost). */
  epoch(): string;
  /** Resolves when the backend answers within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  /** Events currently held in history (all topics). */
  historySize(): number;
}
