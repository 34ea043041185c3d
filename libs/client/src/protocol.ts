import type { ClientMetrics, HeraldError, PresenceInfo, ResetInfo, StreamTransport } from './types.js';

/** Bump when the messages below change: the worker's name includes it, so old and new tabs never mix. */
export const PROTOCOL_VERSION = 2;

/** Everything the hub needs to run the stream; serializable so a tab can hand it to the worker. */
export interface HubConfig {
  baseUrl: string;
  tokenIn: 'header' | 'query';
  credentials: RequestCredentials;
  transport: StreamTransport;
  eventTypes: string[];
  initialRetryMs: number;
  maxRetryDelayMs: number;
  idleTimeoutMs: number;
  resubscribeDebounceMs: number;
  tabTimeoutMs: number;
  /** `since=latest` on every request: each topic's newest event on a fresh start and after a reset. */
  latest: boolean;
}

/** The stream's figures, pushed to every tab on each change: the part of `ClientMetrics` the hub owns. */
export type HubStats = Pick<
  ClientMetrics,
  | 'state'
  | 'transport'
  | 'topics'
  | 'lastEventId'
  | 'connectTimeMs'
  | 'connects'
  | 'reconnects'
  | 'resubscribes'
  | 'resets'
>;

/** One event for one tab, with the ids of the tab's subscriptions that want it. */
export interface RoutedEvent {
  subs: number[];
  id: string;
  topic: string;
  type: string;
  data: unknown;
  ts: number;
}

export type TabMessage =
  | {
      kind: 'hello';
      tab: string;
      config: HubConfig;
      /** A static token, or null. */
      token: string | null;
      /** The tab can mint tokens on request (`token-request`). */
      tokenProvider: boolean;
      /** The tab wants `presence` for its topics (per tab, so tabs with and without share one worker). */
      presence: boolean;
      /** A Web Lock the tab holds until it dies; granted to the worker means the tab is gone. */
      lock: string | null;
    }
  | { kind: 'subscribe'; sub: number; topics: string[]; types: string[] | null; at: number }
  | { kind: 'unsubscribe'; sub: number }
  | { kind: 'ping' }
  | { kind: 'bye' }
  | { kind: 'token'; request: number; token: string | null };

export type HubMessage =
  | { kind: 'welcome'; stats: HubStats }
  | { kind: 'stats'; stats: HubStats }
  /** `lastEventId`: where the stream stands after these events. */
  | { kind: 'events'; events: RoutedEvent[]; lastEventId: string | null }
  | { kind: 'reset'; info: ResetInfo }
  /** A topic of this tab's subscriptions: Herald's latest count, or the hub's last known one for a new subscription. */
  | { kind: 'presence'; info: PresenceInfo }
  | { kind: 'error'; error: HeraldError; sub?: number }
  | { kind: 'token-request'; request: number }
  /** The hub no longer knows this tab (timed out, or it was in the back/forward cache): say hello again. */
  | { kind: 'rejoin' };
