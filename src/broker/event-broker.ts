import type { EventCursor } from '@herald/sse';
import type { HeraldEvent } from './herald-event.js';
import { unavailable } from '../http/unavailable.error.js';

/** Injection token of the event bus and history backend. */
export const EVENT_BROKER = Symbol('EVENT_BROKER');

export interface PublishRequest {
  topic: string;
  type: string;
  data: unknown;
}

/** What makes a publish idempotent (`Idempotency-Key`): see `publishOnce`. */
export interface IdempotentPublish {
  /** The credential and its key, hashed (base64url, no spaces): the record's name. */
  key: string;
  /** A hash of the route, topics, types and data (base64url): what "the same request" means. */
  fingerprint: string;
  ttlMs: number;
}

export type PublishOnceResult =
  /** First time within the TTL: published, and the record written in the same step. */
  | { outcome: 'published'; events: HeraldEvent[] }
  /** A record with the same fingerprint: nothing published; the first publish's ids. */
  | { outcome: 'replayed'; ids: string[] }
  /** A record with another fingerprint: nothing published. */
  | { outcome: 'mismatch' };

export interface ReplayResult {
  /** Events after the cursor on the requested topics, in id order. */
  events: HeraldEvent[];
  /** True when the cursor is unknown (other epoch, ahead of head) or older than retained history. */
  reset: boolean;
  /** The newest id of this history at the time of the read. */
  head: string;
  headSeq: number;
}

/** What history holds of one topic (`GET /v1/topics/{topic}`). */
export interface TopicHistoryInfo {
  /** Id and publish time of the topic's newest retained event, null when it has none. */
  lastEventId: string | null;
  lastEventAt: number | null;
  /** Events of the topic held in history. */
  retained: number;
}

export type LiveListener = (events: readonly HeraldEvent[]) => void;

/**
 * The live feed could not deliver part of history (Redis lost its data, or a
 * gap outlived what Redis kept). Streams that may have missed events should
 * send `reset` with id `<epoch>-<seq>` and go on with the events after `seq`.
 */
export interface LiveLoss {
  /** The epoch the feed continues in (new when Redis lost its data). */
  epoch: string;
  /** The feed continues with events after this seq. */
  seq: number;
  /** Topics that lost events, or null when any topic may have. */
  topics: readonly string[] | null;
}

export type LiveLossListener = (loss: LiveLoss) => void;

/** A broker's link to its backend (each change of it is logged once, when it happens). */
export interface BrokerState {
  /** Publish and replay can reach the backend now. */
  connected: boolean;
  /** `live`: current; `catching-up`: filling a gap from history; `down`: cut off (events wait in history). */
  liveFeed: 'live' | 'catching-up' | 'down';
}

/** Thrown by `publish` when the backend cannot take the event (mapped to 503). */
export class BrokerUnavailableError extends unavailable('the event broker') {}

/**
 * Publish, history and the live feed. The memory and Redis implementations
 * share this shape so Streams never knows which one runs.
 */
export interface EventBroker {
  /** Its name in `BROKER_KINDS` (broker-kinds.ts), as `BROKER` names it. */
  readonly kind: string;
  /** Assigns ids and stores all events atomically; resolves once they are in history. */
  publish(requests: readonly PublishRequest[]): Promise<HeraldEvent[]>;
  /**
   * `publish`, at most once per `once.key` within `once.ttlMs`: the record is
   * checked and written atomically with the publish (across instances for
   * Redis), so a retried request never publishes twice.
   */
  publishOnce(requests: readonly PublishRequest[], once: IdempotentPublish): Promise<PublishOnceResult>;
  /** Events after `cursor` on `topics`; `cursor` null means "from now": no events, no reset. */
  replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult>;
  /**
   * The newest retained event of each topic that has one, in id order, with
   * the head read in the same atomic step: every later event on these topics
   * has a seq above `headSeq` (`since=latest`; `reset` is always false).
   */
  latest(topics: readonly string[]): Promise<ReplayResult>;
  /** What history holds of each topic, in the order asked. */
  topicHistory(topics: readonly string[]): Promise<TopicHistoryInfo[]>;
  /** Topics with a retained event, starting with `prefix`, after `after`, in code-unit order, at most `limit`. */
  retainedTopics(prefix: string, after: string | undefined, limit: number): Promise<string[]>;
  /**
   * The live feed: every event published anywhere, once per process, in id
   * order. `onLoss` hears, in feed order, where the feed skipped history it
   * could not recover (never for the memory broker).
   */
  onLive(listener: LiveListener, onLoss?: LiveLossListener): () => void;
  /** Resolves when the backend answers within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  /** Events currently held in history (all topics). */
  historySize(): number;
  /**
   * Encoded bytes of the events held in this process' memory for replay (O(1));
   * absent when history lives outside the process (Redis).
   */
  historyBytes?(): number;
  /** Link state. */
  state?(): BrokerState;
}
