import { isValidEventType, isValidTopic, MAX_TOPICS_PER_SUBSCRIPTION } from '@herald/sse';
import { ClientMetricsRecorder } from './client-metrics.js';
import { LocalLink, WorkerLink, type HubLink } from './hub-link.js';
import {
  PROTOCOL_VERSION,
  type HubConfig,
  type HubMessage,
  type HubStats,
  type RoutedEvent,
  type TabMessage,
} from './protocol.js';
import type { HubEnvironment } from './stream-hub.js';
import type {
  ClientMetrics,
  ConnectionState,
  EventHandler,
  HeraldClientOptions,
  HeraldError,
  PresenceInfo,
  ResetInfo,
  StreamTransport,
  SubscribeOptions,
  TokenSource,
} from './types.js';

interface ClientSubscription {
  topics: string[];
  types: string[] | null;
  handler: EventHandler;
  at: number;
}

interface ClientEvents {
  state: (state: ConnectionState) => void;
  reset: (info: ResetInfo) => void;
  error: (error: HeraldError) => void;
  presence: (info: PresenceInfo) => void;
}

type Hello = Extract<TabMessage, { kind: 'hello' }>;

/** Whether `fetch` can hand over a response body while it streams (not buffered to the end). */
function fetchCanStream(): boolean {
  return (
    typeof fetch === 'function' &&
    typeof ReadableStream === 'function' &&
    typeof Response === 'function' &&
    'body' in Response.prototype
  );
}

/** FNV-1a, to name the worker after settings and credentials without putting them in the name. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

function randomId(): string {
  const crypto = globalThis.crypto as Crypto | undefined;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}

function option(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new TypeError(`HeraldClient: ${name} must be a number ≥ ${min}`);
  return value;
}

/**
 * The Herald client (docs/client.md). In a browser, every tab of an origin
 * shares one stream through a SharedWorker; where there is none (or with
 * `shared: false`, or in Node) the stream lives in this page or process.
 * Either way: one stream in `envelope` format for all subscriptions, resumed
 * with `Last-Event-ID` after every close, reconnected with backoff.
 */
export class HeraldClient {
  readonly baseUrl: string;
  private link: HubLink;
  private readonly config: HubConfig;
  private readonly token: TokenSource | undefined;
  private readonly presence: boolean;
  private readonly tabId = randomId();
  private readonly subscriptions = new Map<number, ClientSubscription>();
  private readonly listeners: { [K in keyof ClientEvents]: Set<ClientEvents[K]> } = {
    state: new Set(),
    reset: new Set(),
    error: new Set(),
    presence: new Set(),
  };
  private readonly recorder = new ClientMetricsRecorder(Date.now);
  private stats: HubStats;
  private lastEventId: string | null = null;
  private nextSubscription = 0;
  private closed = false;

  constructor(baseUrl: string | URL, options: HeraldClientOptions = {}) {
    const base = new URL(String(baseUrl), (globalThis as { location?: { href: string } }).location?.href);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`HeraldClient: baseUrl must be http(s), got ${base.protocol}`);
    }
    this.baseUrl = base.href.replace(/\/+$/, '');
    this.token = options.token;
    this.presence = options.presence === true;
    const transport: StreamTransport =
      options.transport === 'fetch' || options.transport === 'eventsource'
        ? options.transport
        : fetchCanStream() || typeof EventSource !== 'function'
          ? 'fetch'
          : 'eventsource';
    const eventTypes = [...(options.eventTypes ?? [])];
    if (!eventTypes.every(isValidEventType)) throw new TypeError('HeraldClient: invalid event type in eventTypes');
    this.config = {
      baseUrl: this.baseUrl,
      tokenIn: options.tokenIn === 'query' ? 'query' : 'header',
      credentials: options.credentials ?? 'same-origin',
      transport,
      eventTypes,
      initialRetryMs: option('initialRetryMs', options.initialRetryMs, 1_000),
      maxRetryDelayMs: option('maxRetryDelayMs', options.maxRetryDelayMs, 30_000, 100),
      idleTimeoutMs: option('idleTimeoutMs', options.idleTimeoutMs, 45_000, 1_000),
      resubscribeDebounceMs: option('resubscribeDebounceMs', options.resubscribeDebounceMs, 25),
      tabTimeoutMs: option('tabTimeoutMs', options.tabTimeoutMs, 90_000, 1_000),
      latest: options.latest === true,
    };
    this.stats = {
      state: 'idle',
      transport,
      topics: [],
      lastEventId: null,
      connectTimeMs: null,
      connects: 0,
      reconnects: 0,
      resubscribes: 0,
      resets: 0,
    };
    this.link = this.openLink(options);
    this.link.hello();
  }

  /** The stream's state as last reported. */
  get state(): ConnectionState {
    return this.stats.state;
  }

  /**
   * Calls `handler(data, {id, topic, type, ts})` for each event on `topics`
   * (optionally only of `options.type`) published from now on; returns the
   * function that ends this subscription.
   */
  subscribe(topics: string | readonly string[], handler: EventHandler, options: SubscribeOptions = {}): () => void {
    if (this.closed) throw new Error('HeraldClient: subscribe after close()');
    const list = [...new Set(typeof topics === 'string' ? [topics] : topics)];
    if (list.length === 0) throw new TypeError('HeraldClient: subscribe needs at least one topic');
    if (list.length > MAX_TOPICS_PER_SUBSCRIPTION) {
      throw new TypeError(`HeraldClient: at most ${MAX_TOPICS_PER_SUBSCRIPTION} topics per stream`);
    }
    const invalid = list.find((topic) => !isValidTopic(topic));
    if (invalid !== undefined) {
      throw new TypeError(`HeraldClient: invalid topic ${JSON.stringify(invalid)}: 1-256 of A-Z a-z 0-9 _ - . : / ~ @`);
    }
    const types =
      options.type === undefined
        ? null
        : [...new Set(typeof options.type === 'string' ? [options.type] : options.type)];
    if (types !== null && (types.length === 0 || !types.every(isValidEventType))) {
      throw new TypeError(`HeraldClient: invalid event type in ${JSON.stringify(options.type)}`);
    }
    if (typeof handler !== 'function') throw new TypeError('HeraldClient: handler must be a function');
    const sub = ++this.nextSubscription;
    const subscription: ClientSubscription = { topics: list, types, handler, at: Date.now() };
    this.subscriptions.set(sub, subscription);
    this.link.send({ kind: 'subscribe', sub, topics: list, types, at: subscription.at });
    return () => {
      if (this.subscriptions.delete(sub) && !this.closed) this.link.send({ kind: 'unsubscribe', sub });
    };
  }

  /**
   * Listens for `state` changes, `reset` (re-fetch your state), `error` and, with the `presence` option,
   * `presence` (`{topic, subscribers}` for this client's topics); returns the function that stops it.
   */
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): () => void {
    const set = this.listeners[event] as Set<ClientEvents[K]> | undefined;
    if (!set) throw new TypeError(`HeraldClient: unknown event ${JSON.stringify(event)}`);
    set.add(listener);
    return () => set.delete(listener);
  }

  metrics(): ClientMetrics {
    const { connectedMs, totalMs } = this.recorder.connectedTime();
    return {
      state: this.stats.state,
      shared: this.link.shared,
      transport: this.stats.transport,
      topics: this.stats.topics,
      lastEventId: this.lastEventId,
      connectTimeMs: this.stats.connectTimeMs,
      connects: this.stats.connects,
      reconnects: this.stats.reconnects,
      resubscribes: this.stats.resubscribes,
      resets: this.stats.resets,
      messagesReceived: this.recorder.messagesReceived,
      latencyMs: this.recorder.latency(),
      connectedMs,
      totalMs,
      connectedRatio: totalMs > 0 ? connectedMs / totalMs : 0,
    };
  }

  /** Ends every subscription; in shared mode the worker drops this tab's topics. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscriptions.clear();
    this.link.close();
    this.setState('closed');
  }

  private openLink(options: HeraldClientOptions): HubLink {
    const hello = this.helloMessage();
    const onMessage = (message: HubMessage): void => this.onHubMessage(message);
    const SharedWorkerClass = (globalThis as { SharedWorker?: typeof SharedWorker }).SharedWorker;
    if (options.shared !== false && typeof SharedWorkerClass === 'function') {
      try {
        const url = options.workerUrl ?? new URL('./herald-worker.js', import.meta.url);
        const scope = typeof this.token === 'string' ? fingerprint(this.token) : typeof this.token;
        const name = `herald/${PROTOCOL_VERSION} ${this.baseUrl} ${fingerprint(JSON.stringify(this.config))}.${scope}`;
        const worker = new SharedWorkerClass(url, { name });
        return new WorkerLink(
          worker,
          hello,
          onMessage,
          () => this.fallBackToLocal(),
          () => this.rejoin('rejoined'),
          option('tabHeartbeatMs', options.tabHeartbeatMs, 10_000, 100),
        );
      } catch {
        // A cross-origin worker URL or a blocked worker: one stream in this page instead.
      }
    }
    return this.localLink(options.fetch);
  }

  private localLink(customFetch?: typeof fetch): LocalLink {
    const env: HubEnvironment = {
      fetch: customFetch ?? ((input, init) => fetch(input, init)),
      EventSource: typeof EventSource === 'function' ? EventSource : undefined,
      now: Date.now,
      random: Math.random,
    };
    return new LocalLink(this.config, env, this.helloMessage(), (message) => this.onHubMessage(message));
  }

  private helloMessage(): Omit<Hello, 'lock'> {
    return {
      kind: 'hello',
      tab: this.tabId,
      config: this.config,
      token: typeof this.token === 'string' ? this.token : null,
      tokenProvider: typeof this.token === 'function',
      presence: this.presence,
    };
  }

  /** The worker script failed to load or run: hold the stream in this page. */
  private fallBackToLocal(): void {
    if (this.closed) return;
    this.link.close();
    this.link = this.localLink();
    this.link.hello();
    for (const [sub, subscription] of this.subscriptions) {
      this.link.send({
        kind: 'subscribe',
        sub,
        topics: subscription.topics,
        types: subscription.types,
        at: subscription.at,
      });
    }
  }

  /** The hub forgot this tab: say hello again, resubscribe, and tell the app it may have missed events. */
  private rejoin(reason: string): void {
    if (this.closed) return;
    this.link.hello();
    const at = Date.now();
    for (const [sub, subscription] of this.subscriptions) {
      this.link.send({ kind: 'subscribe', sub, topics: subscription.topics, types: subscription.types, at });
    }
    this.emit('reset', { reason, lastEventId: this.lastEventId });
  }

  private onHubMessage(message: HubMessage): void {
    if (this.closed) return;
    switch (message.kind) {
      case 'welcome':
      case 'stats':
        this.updateStats(message.stats);
        break;
      case 'events':
        this.lastEventId = message.lastEventId;
        this.deliver(message.events);
        break;
      case 'reset':
        this.emit('reset', message.info);
        break;
      case 'presence':
        this.emit('presence', message.info);
        break;
      case 'error':
        if (message.sub !== undefined) this.subscriptions.delete(message.sub);
        this.emit('error', message.error);
        break;
      case 'token-request':
        void this.answerTokenRequest(message.request);
        break;
      case 'rejoin':
        this.rejoin('rejoined');
        break;
    }
  }

  private deliver(events: RoutedEvent[]): void {
    const receivedAt = Date.now();
    for (const event of events) {
      this.recorder.received(event.ts, receivedAt);
      const meta = { id: event.id, topic: event.topic, type: event.type, ts: event.ts };
      for (const sub of event.subs) {
        const subscription = this.subscriptions.get(sub);
        if (!subscription) continue;
        try {
          subscription.handler(event.data, meta);
        } catch (error) {
          this.emit('error', {
            kind: 'handler',
            message: `a handler for ${event.topic} threw: ${error instanceof Error ? error.message : String(error)}`,
            fatal: false,
          });
        }
      }
    }
  }

  private async answerTokenRequest(request: number): Promise<void> {
    let token: string | null = null;
    try {
      token = typeof this.token === 'function' ? ((await this.token()) ?? null) : (this.token ?? null);
    } catch (error) {
      this.emit('error', {
        kind: 'auth',
        message: `the token function failed: ${error instanceof Error ? error.message : String(error)}`,
        fatal: false,
      });
    }
    if (!this.closed) this.link.send({ kind: 'token', request, token });
  }

  private updateStats(stats: HubStats): void {
    const changed = stats.state !== this.stats.state;
    this.stats = stats;
    // Messages arrive in order, so the latest one knows the stream's latest id.
    this.lastEventId = stats.lastEventId ?? this.lastEventId;
    if (changed) this.setState(stats.state);
  }

  private setState(state: ConnectionState): void {
    this.stats = { ...this.stats, state };
    this.recorder.stateChanged(state);
    this.emit('state', state);
  }

  private emit<K extends keyof ClientEvents>(event: K, value: Parameters<ClientEvents[K]>[0]): void {
    const listeners = this.listeners[event] as Set<(value: Parameters<ClientEvents[K]>[0]) => void>;
    if (listeners.size === 0 && event === 'error') {
      console.warn('[herald]', (value as HeraldError).message);
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener(value);
      } catch (error) {
        console.error('[herald] a listener threw', error);
      }
    }
  }
}
