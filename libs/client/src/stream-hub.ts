import { isValidEventType, isValidTopic, MAX_TOPICS_PER_SUBSCRIPTION } from '@herald/sse';
import { EventStream, type StreamEvent } from './event-stream.js';
import type { HubConfig, HubMessage, HubStats, RoutedEvent, TabMessage } from './protocol.js';
import { ServerClock } from './server-clock.js';
import { forbiddenTopics, tokenTopics } from './token-claims.js';
import { TopicUnion } from './topic-union.js';
import type { PresenceInfo } from './types.js';

/** Where the hub's messages to one tab go (a MessagePort, or the page's own client). */
export interface HubPeer {
  post(message: HubMessage): void;
}

export interface HubEnvironment {
  fetch: typeof fetch;
  EventSource: typeof EventSource | undefined;
  now: () => number;
  random: () => number;
}

type Hello = Extract<TabMessage, { kind: 'hello' }>;
type Subscribe = Extract<TabMessage, { kind: 'subscribe' }>;

interface Tab {
  peer: HubPeer;
  id: string;
  lastSeen: number;
  /** Its death is signalled by a Web Lock, so silence is not a reason to drop it. */
  lockBacked: boolean;
  tokenProvider: boolean;
  /** It asked for `presence`: it gets the counts of its own topics. */
  presence: boolean;
}

/**
 * A cut-off margin for new subscriptions: events published up to this long
 * before `subscribe()` may still reach them (clock estimates across Redis
 * instances can disagree by this much); anything older is history replayed
 * for other tabs and is not theirs.
 */
const SUBSCRIBE_GRACE_MS = 1_000;
/** How long a tab gets to mint a token before the stream tries without one. */
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/**
 * One stream for many tabs (in the SharedWorker) or for one page (fallback,
 * Node): keeps the union of every tab's topics, holds one EventStream for
 * that union in envelope format, routes each event to the subscriptions that
 * want its topic, drops tabs that are gone, and reopens the stream (with its
 * last id, after a short debounce) whenever the union changes. The stream asks
 * for presence while any tab does; only those tabs get it, for their topics.
 */
export class StreamHub {
  private readonly tabs = new Map<HubPeer, Tab>();
  private readonly union = new TopicUnion<HubPeer>();
  private readonly clock = new ServerClock();
  private readonly stream: EventStream;
  private staticToken: string | null = null;
  private allowedTopics: string[] | undefined;
  private resubscribeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The topics last handed to the stream, joined, and whether it was asked for presence. */
  private appliedTopics = '';
  private appliedPresence = false;
  /** The last presence count per topic of the stream, for tabs that subscribe to a topic it already carries. */
  private readonly counts = new Map<string, number>();
  private nextTokenRequest = 0;
  private readonly tokenRequests = new Map<number, (token: string | null) => void>();

  constructor(
    private readonly config: HubConfig,
    private readonly env: HubEnvironment,
  ) {
    this.stream = new EventStream(
      {
        baseUrl: config.baseUrl,
        transport: config.transport,
        tokenIn: config.tokenIn,
        credentials: config.credentials,
        initialRetryMs: config.initialRetryMs,
        maxRetryDelayMs: config.maxRetryDelayMs,
        idleTimeoutMs: config.idleTimeoutMs,
        latest: config.latest,
        token: () => this.token(),
        canRefreshToken: () => [...this.tabs.values()].some((tab) => tab.tokenProvider),
        fetch: env.fetch,
        EventSource: env.EventSource,
        now: env.now,
        random: env.random,
      },
      {
        events: (batch, receivedAt) => this.dispatch(batch, receivedAt),
        reset: (info) => this.broadcast({ kind: 'reset', info }),
        presence: (info) => this.routePresence(info),
        state: () => this.broadcastStats(),
        error: (error) => this.broadcast({ kind: 'error', error }),
        opened: (receivedAt, date) => this.clock.observeDateHeader(receivedAt, date),
      },
    );
    this.stream.listenFor(config.eventTypes);
  }

  get tabCount(): number {
    return this.tabs.size;
  }

  /** The topics the stream carries (or will, after the debounce). */
  topics(): string[] {
    return this.union.topics();
  }

  stats(): HubStats {
    const stream = this.stream;
    return {
      state: stream.state,
      transport: this.config.transport,
      topics: this.union.topics(),
      lastEventId: stream.lastEventId,
      connectTimeMs: stream.connectTimeMs,
      connects: stream.connects,
      reconnects: stream.reconnects,
      resubscribes: stream.resubscribes,
      resets: stream.resets,
    };
  }

  attach(peer: HubPeer, hello: Hello): void {
    this.tabs.set(peer, {
      peer,
      id: hello.tab,
      lastSeen: this.env.now(),
      lockBacked: hello.lock !== null,
      tokenProvider: hello.tokenProvider,
      presence: hello.presence,
    });
    if (hello.presence && !this.appliedPresence) this.unionChanged();
    if (hello.token !== null && hello.token !== this.staticToken) {
      this.staticToken = hello.token;
      this.useToken(hello.token);
      this.stream.retryNow();
    }
    peer.post({ kind: 'welcome', stats: this.stats() });
  }

  receive(peer: HubPeer, message: TabMessage): void {
    if (message.kind === 'hello') {
      this.attach(peer, message);
      return;
    }
    const tab = this.tabs.get(peer);
    if (!tab) {
      // A tab we dropped (timed out, back/forward cache) is still talking: it must say hello again.
      if (message.kind !== 'bye' && message.kind !== 'token') peer.post({ kind: 'rejoin' });
      return;
    }
    tab.lastSeen = this.env.now();
    switch (message.kind) {
      case 'subscribe':
        this.subscribe(tab, message);
        break;
      case 'unsubscribe':
        if (this.union.remove(peer, message.sub)) this.unionChanged();
        break;
      case 'bye':
        this.detach(peer);
        break;
      case 'token':
        this.tokenRequests.get(message.request)?.(message.token);
        break;
      case 'ping':
        break;
    }
  }

  /** The tab is gone (bye, its Web Lock was released, or it timed out): its topics leave the union. */
  detach(peer: HubPeer): void {
    const tab = this.tabs.get(peer);
    if (!tab) return;
    this.tabs.delete(peer);
    if (this.union.removeOwner(peer) || tab.presence) this.unionChanged();
  }

  /** Drops tabs without a Web Lock that have been silent longer than the tab timeout. */
  sweep(): void {
    const now = this.env.now();
    for (const tab of [...this.tabs.values()]) {
      if (!tab.lockBacked && now - tab.lastSeen > this.config.tabTimeoutMs) this.detach(tab.peer);
    }
  }

  close(): void {
    clearTimeout(this.resubscribeTimer);
    for (const resolve of this.tokenRequests.values()) resolve(null);
    this.stream.close();
    this.tabs.clear();
  }

  private subscribe(tab: Tab, message: Subscribe): void {
    const refuse = (text: string): void =>
      tab.peer.post({
        kind: 'error',
        sub: message.sub,
        error: { kind: 'subscription', message: text, fatal: true, topics: message.topics },
      });
    const topics = [...new Set(message.topics)];
    if (topics.length === 0 || !topics.every(isValidTopic)) return refuse('invalid topic');
    if (message.types !== null && !message.types.every(isValidEventType)) return refuse('invalid event type');
    if (this.allowedTopics !== undefined) {
      const forbidden = forbiddenTopics(this.allowedTopics, topics);
      if (forbidden.length > 0) return refuse(`the token does not allow ${forbidden.join(', ')}`);
    }
    const total = this.union.size + this.union.newTopics(topics).length;
    if (total > MAX_TOPICS_PER_SUBSCRIPTION) {
      return refuse(`the stream would carry ${total} topics; Herald allows ${MAX_TOPICS_PER_SUBSCRIPTION} per stream`);
    }
    const serverTime = this.clock.toServer(message.at);
    const types = message.types === null ? null : new Set(message.types);
    const changed = this.union.add({
      owner: tab.peer,
      id: message.sub,
      topics,
      types,
      since: serverTime === undefined ? undefined : serverTime - SUBSCRIBE_GRACE_MS,
    });
    if (types) this.stream.listenFor(types);
    if (changed) this.unionChanged();
    if (!tab.presence) return;
    for (const topic of topics) {
      const subscribers = this.counts.get(topic);
      if (subscribers !== undefined) tab.peer.post({ kind: 'presence', info: { topic, subscribers } });
    }
  }

  /** Bursts of subscribe/unsubscribe (a page setting up, tabs closing together) cost one reconnect. */
  private unionChanged(): void {
    clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = undefined;
      const topics = this.union.topics();
      const presence = [...this.tabs.values()].some((tab) => tab.presence);
      // A burst that ends where it started (a tab reloading) needs no reconnect.
      if (topics.join('\n') === this.appliedTopics && presence === this.appliedPresence) return;
      this.appliedTopics = topics.join('\n');
      this.appliedPresence = presence;
      for (const topic of this.counts.keys()) {
        if (!presence || !topics.includes(topic)) this.counts.delete(topic);
      }
      this.stream.setTopics(topics, { presence });
      this.broadcastStats();
    }, this.config.resubscribeDebounceMs);
  }

  /** To the tabs that asked for presence and subscribed to the topic; kept for tabs that subscribe to it later. */
  private routePresence(info: PresenceInfo): void {
    const owners = this.union.owners(info.topic);
    if (owners.size === 0) return;
    this.counts.set(info.topic, info.subscribers);
    for (const peer of owners) if (this.tabs.get(peer)?.presence) peer.post({ kind: 'presence', info });
  }

  private dispatch(batch: StreamEvent[], receivedAt: number): void {
    const perTab = new Map<HubPeer, RoutedEvent[]>();
    for (const event of batch) {
      this.clock.observe(receivedAt, event.ts);
      for (const entry of this.union.route(event)) {
        let list = perTab.get(entry.owner);
        if (!list) perTab.set(entry.owner, (list = []));
        let routed = list[list.length - 1];
        if (routed?.id !== event.id) {
          routed = { subs: [], id: event.id, topic: event.topic, type: event.type, data: event.data, ts: event.ts };
          list.push(routed);
        }
        routed.subs.push(entry.id);
      }
    }
    const lastEventId = this.stream.lastEventId;
    for (const [peer, events] of perTab) peer.post({ kind: 'events', events, lastEventId });
  }

  private broadcast(message: HubMessage): void {
    for (const tab of this.tabs.values()) tab.peer.post(message);
  }

  private broadcastStats(): void {
    this.broadcast({ kind: 'stats', stats: this.stats() });
  }

  private useToken(token: string | null): void {
    if (token === null) return;
    this.allowedTopics = tokenTopics(token);
  }

  /** The token for the next connect: a static one, or a fresh one from a tab that can mint it. */
  private async token(): Promise<string | null> {
    const provider = [...this.tabs.values()]
      .filter((tab) => tab.tokenProvider)
      .sort((a, b) => b.lastSeen - a.lastSeen)[0];
    if (!provider) return this.staticToken;
    const request = ++this.nextTokenRequest;
    const token = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(this.staticToken), TOKEN_REQUEST_TIMEOUT_MS);
      this.tokenRequests.set(request, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      provider.peer.post({ kind: 'token-request', request });
    });
    this.tokenRequests.delete(request);
    this.useToken(token);
    return token;
  }
}
