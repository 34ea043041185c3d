/** The public shapes of the Herald client (docs/client.md). Plain data: they cross a MessagePort. */

/**
 * `idle`: no topics, no stream. `connecting`: a request is out. `open`: the
 * stream is live. `reconnecting`: waiting before the next attempt. `failed`:
 * stopped on an error retrying cannot fix (400, 403, a static token that
 * expired) until the topics or the token change. `closed`: `client.close()`.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'failed' | 'closed';

/** What a handler gets besides the data. */
export interface EventMeta {
  /** Herald's event id (`<epoch>-<seq>`). */
  id: string;
  topic: string;
  /** Event type, `message` by default. */
  type: string;
  /** Publish time, ms since the epoch (server clock). */
  ts: number;
}

export type EventHandler = (data: unknown, meta: EventMeta) => void;

/** Herald lost the history the stream resumed from: the app should re-fetch its state. */
export interface ResetInfo {
  /** `history-lost` from Herald; `rejoined` when this tab was away from the shared stream. */
  reason: string;
  /** The id the stream tried to resume from. */
  lastEventId: string | null;
}

/** `presence: true`: how many streams have a topic open across Herald's instances, this tab's stream included. */
export interface PresenceInfo {
  topic: string;
  subscribers: number;
}

export type HeraldErrorKind = 'network' | 'http' | 'auth' | 'protocol' | 'subscription' | 'handler';

export interface HeraldError {
  kind: HeraldErrorKind;
  message: string;
  /** HTTP status, for `http` and `auth`. */
  status?: number;
  /** True when the client stopped retrying (state `failed`), or the subscription was refused. */
  fatal: boolean;
  /** The topics a refused subscription asked for. */
  topics?: string[];
}

export interface LatencySummary {
  count: number;
  last: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** `client.metrics()`: the stream as this client sees it. */
export interface ClientMetrics {
  state: ConnectionState;
  /** True when the stream is shared with other tabs through the SharedWorker. */
  shared: boolean;
  transport: StreamTransport;
  /** Topics the stream carries (the union over all tabs when shared). */
  topics: string[];
  lastEventId: string | null;
  /** Request to open stream of the latest connection, ms. */
  connectTimeMs: number | null;
  /** Streams opened. */
  connects: number;
  /** Streams opened again after one was lost or closed by Herald. */
  reconnects: number;
  /** Streams reopened because the set of topics changed. */
  resubscribes: number;
  resets: number;
  /** Events delivered to this client. */
  messagesReceived: number;
  /** Publish → receive, from the envelope `ts` (includes any clock skew to the server). */
  latencyMs: LatencySummary | null;
  /** Time the stream was open while this client wanted one, and that time in total. */
  connectedMs: number;
  totalMs: number;
  connectedRatio: number;
}

export type StreamTransport = 'fetch' | 'eventsource';

export interface SubscribeOptions {
  /** Only events of this type (or these types). */
  type?: string | readonly string[];
}

export type TokenSource = string | (() => string | null | Promise<string | null>);

export interface HeraldClientOptions {
  /** Subscriber JWT, or a function that returns a fresh one (called before every connect). */
  token?: TokenSource;
  /** `header`: `Authorization: Bearer` (default); `query`: `access_token=`. */
  tokenIn?: 'header' | 'query';
  /** Fetch credentials mode: `include` sends the `herald_token` cookie cross-origin. */
  credentials?: RequestCredentials;
  /** Share one stream across the tabs of this origin through a SharedWorker (default true). */
  shared?: boolean;
  /** URL of `herald-worker.js`; it must be same-origin with the page. Default: next to `herald.js`. */
  workerUrl?: string | URL;
  /** `auto` (default): fetch streaming, EventSource only where fetch cannot stream. */
  transport?: 'auto' | StreamTransport;
  /** EventSource only sees named event types it listens for: the types to listen for besides subscriptions' own. */
  eventTypes?: readonly string[];
  /** Reconnect base delay until Herald's `retry:` arrives (ms, default 1000). */
  initialRetryMs?: number;
  /** Cap of the exponential backoff (ms, default 30000). */
  maxRetryDelayMs?: number;
  /** A stream silent this long (not even a heartbeat) is treated as dead (ms, default 45000). */
  idleTimeoutMs?: number;
  /** Subscribe/unsubscribe bursts within this window cause one reconnect (ms, default 25). */
  resubscribeDebounceMs?: number;
  /** Shared mode: how often a tab tells the worker it is alive (ms, default 10000). */
  tabHeartbeatMs?: number;
  /** Shared mode, where Web Locks are missing: a tab silent this long is dropped (ms, default 90000). */
  tabTimeoutMs?: number;
  /**
   * Each topic's newest retained event when the stream starts without a cursor and right after a `reset`
   * (`since=latest`), so state-like topics (positions, prices) need no separate fetch. Default false.
   */
  latest?: boolean;
  /**
   * `presence=1`: `presence` events with the number of streams on each of this client's topics, within
   * about a second of a change. Streams, not tabs: the tabs sharing one stream count once. Default false.
   */
  presence?: boolean;
  /** The fetch to use (Node services with a custom agent, tests). */
  fetch?: typeof fetch;
}
