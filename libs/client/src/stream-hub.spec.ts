import { afterEach, describe, expect, it } from '@jest/globals';
import { FakeHerald, until } from '../test/fake-herald.js';
import type { HubConfig, HubMessage, RoutedEvent, TabMessage } from './protocol.js';
import { StreamHub, type HubPeer } from './stream-hub.js';

const config: HubConfig = {
  baseUrl: 'http://herald.test',
  tokenIn: 'header',
  credentials: 'same-origin',
  transport: 'fetch',
  eventTypes: [],
  latest: false,
  initialRetryMs: 5,
  maxRetryDelayMs: 50,
  idleTimeoutMs: 10_000,
  resubscribeDebounceMs: 15,
  tabTimeoutMs: 1_000,
};

class FakeTab implements HubPeer {
  readonly messages: HubMessage[] = [];
  constructor(readonly id: string) {}
  post(message: HubMessage): void {
    this.messages.push(message);
  }
  /** Presence received, as `topic=subscribers` strings, in order. */
  get presence(): string[] {
    return this.of('presence').map(({ info }) => `${info.topic}=${info.subscribers}`);
  }
  /** Events received, as `sub:data` strings, in order. */
  get received(): string[] {
    return this.messages
      .filter((m): m is Extract<HubMessage, { kind: 'events' }> => m.kind === 'events')
      .flatMap((m) => m.events)
      .flatMap((e: RoutedEvent) => e.subs.map((sub) => `${sub}:${String(e.data)}`));
  }
  of<K extends HubMessage['kind']>(kind: K): Extract<HubMessage, { kind: K }>[] {
    return this.messages.filter((m): m is Extract<HubMessage, { kind: K }> => m.kind === kind);
  }
}

const hubs: StreamHub[] = [];
afterEach(() => hubs.splice(0).forEach((hub) => hub.close()));

function setup(now: () => number = Date.now): { hub: StreamHub; herald: FakeHerald } {
  const herald = new FakeHerald();
  const hub = new StreamHub(config, { fetch: herald.fetch, EventSource: undefined, now, random: () => 0.5 });
  hubs.push(hub);
  return { hub, herald };
}

function hello(hub: StreamHub, tab: FakeTab, extra: Partial<Extract<TabMessage, { kind: 'hello' }>> = {}): void {
  hub.receive(tab, {
    kind: 'hello',
    tab: tab.id,
    config,
    token: null,
    tokenProvider: false,
    presence: false,
    lock: 'lock',
    ...extra,
  });
}

function subscribe(hub: StreamHub, tab: FakeTab, sub: number, topics: string[], types: string[] | null = null): void {
  hub.receive(tab, { kind: 'subscribe', sub, topics, types, at: Date.now() });
}

/** Tabs a and b said hello; a subscribed (sub 1) to topic `a` and the shared stream is open. */
async function twoTabsOneOpen(hub: StreamHub): Promise<[FakeTab, FakeTab]> {
  const [a, b] = [new FakeTab('a'), new FakeTab('b')];
  hello(hub, a);
  hello(hub, b);
  subscribe(hub, a, 1, ['a']);
  await until(() => hub.stats().state === 'open');
  return [a, b];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('StreamHub', () => {
  it('opens one stream for the union of all tabs and routes each event to the tabs that want it', async () => {
    const { hub, herald } = setup();
    const [a, b, c] = [new FakeTab('a'), new FakeTab('b'), new FakeTab('c')];
    for (const tab of [a, b, c]) hello(hub, tab);
    subscribe(hub, a, 1, ['trucks/1']);
    subscribe(hub, b, 1, ['trucks/2']);
    subscribe(hub, b, 2, ['trucks/1', 'trucks/3']);
    subscribe(hub, c, 7, ['trucks/3'], ['position']);
    await until(() => hub.stats().state === 'open');
    // The burst of subscriptions cost one request.
    expect(herald.requests).toHaveLength(1);
    expect(herald.last.topics).toEqual(['trucks/1', 'trucks/2', 'trucks/3']);
    herald.event('trucks/1', 'p1');
    herald.event('trucks/2', 'p2');
    herald.event('trucks/3', 'p3', { type: 'position' });
    herald.event('trucks/3', 's3', { type: 'status' });
    await until(() => c.received.length === 1);
    await until(() => b.received.length === 4);
    expect(a.received).toEqual(['1:p1']);
    expect(b.received).toEqual(['2:p1', '1:p2', '2:p3', '2:s3']);
    expect(c.received).toEqual(['7:p3']);
    const [routed] = a.of('events')[0].events;
    expect(routed).toMatchObject({ topic: 'trucks/1', type: 'message', data: 'p1', subs: [1] });
  });

  it('reopens with the last id when the union changes, so no tab misses an event', async () => {
    const { hub, herald } = setup();
    const [a, b] = await twoTabsOneOpen(hub);
    herald.event('a', 'a1');
    const last = herald.event('a', 'a2');
    await until(() => a.received.length === 2);
    subscribe(hub, b, 1, ['b']);
    subscribe(hub, b, 2, ['c']);
    await until(() => herald.requests.length === 2 && hub.stats().state === 'open', 2_000, 'resubscribe');
    expect(herald.last.topics).toEqual(['a', 'b', 'c']);
    expect(herald.last.lastEventId).toBe(last);
    // What Herald replays after the last id, and what is live after it, reaches each tab once.
    herald.event('a', 'a3');
    herald.event('b', 'b1');
    herald.event('c', 'c1');
    await until(() => b.received.length === 2 && a.received.length === 3);
    expect(a.received).toEqual(['1:a1', '1:a2', '1:a3']);
    expect(b.received).toEqual(['1:b1', '2:c1']);
    expect(hub.stats()).toMatchObject({
      resubscribes: 1,
      reconnects: 0,
      lastEventId: 'e1-5',
    });
  });

  it('does not hand a new subscription the history replayed for the others', async () => {
    const { hub, herald } = setup();
    const [a, b] = await twoTabsOneOpen(hub);
    const now = Date.now();
    herald.event('a', 'a1', { ts: now });
    await until(() => a.received.length === 1);
    subscribe(hub, b, 1, ['b']);
    await until(() => herald.requests.length === 2 && hub.stats().state === 'open');
    // Replayed after the last id: published on `b` a minute before tab b subscribed.
    herald.event('b', 'old', { ts: now - 60_000 });
    herald.event('b', 'new', { ts: Date.now() });
    await until(() => b.received.length >= 1);
    await sleep(20);
    expect(b.received).toEqual(['1:new']);
  });

  it('does not reconnect for a burst that ends with the same union', async () => {
    const { hub, herald } = setup();
    const [a, b] = [new FakeTab('a'), new FakeTab('b')];
    hello(hub, a);
    subscribe(hub, a, 1, ['a']);
    await until(() => hub.stats().state === 'open');
    // Tab a reloads: its topics leave and come back (as tab b) within the debounce.
    hub.receive(a, { kind: 'bye' });
    hello(hub, b);
    subscribe(hub, b, 1, ['a']);
    await sleep(60);
    expect(herald.requests).toHaveLength(1);
    herald.event('a', 'still here');
    await until(() => b.received.length === 1);
  });

  it('drops the topics of a tab that says bye, and of one whose lock was released', async () => {
    const { hub, herald } = setup();
    const [a, b, c] = [new FakeTab('a'), new FakeTab('b'), new FakeTab('c')];
    for (const tab of [a, b, c]) hello(hub, tab);
    subscribe(hub, a, 1, ['a']);
    subscribe(hub, b, 1, ['b']);
    subscribe(hub, c, 1, ['c']);
    await until(() => hub.stats().state === 'open');
    expect(herald.last.topics).toEqual(['a', 'b', 'c']);
    hub.receive(b, { kind: 'bye' });
    hub.detach(c);
    await until(() => herald.requests.length === 2 && hub.stats().state === 'open');
    expect(herald.last.topics).toEqual(['a']);
    expect(hub.tabCount).toBe(1);
    hub.detach(a);
    await until(() => hub.stats().state === 'idle');
    expect(herald.requests).toHaveLength(2);
  });

  it('drops a silent tab without a lock after the tab timeout, and asks it to rejoin if it speaks again', async () => {
    let now = 0;
    const { hub, herald } = setup(() => now);
    const [locked, silent] = [new FakeTab('locked'), new FakeTab('silent')];
    hello(hub, locked);
    hello(hub, silent, { lock: null });
    subscribe(hub, locked, 1, ['a']);
    subscribe(hub, silent, 1, ['b']);
    await until(() => hub.stats().state === 'open');
    now = 900;
    hub.receive(silent, { kind: 'ping' });
    now = 1_800;
    hub.sweep();
    expect(hub.tabCount).toBe(2);
    now = 2_000;
    hub.sweep();
    expect(hub.tabCount).toBe(1);
    await until(() => herald.requests.length === 2 && hub.stats().state === 'open');
    expect(herald.last.topics).toEqual(['a']);
    hub.receive(silent, { kind: 'ping' });
    expect(silent.of('rejoin')).toHaveLength(1);
  });

  it('refuses a subscription the token does not allow, without touching the shared stream', async () => {
    const { hub, herald } = setup();
    const tab = new FakeTab('a');
    const payload = Buffer.from(JSON.stringify({ topics: ['trucks/*'] })).toString('base64url');
    hello(hub, tab, { token: `e30.${payload}.sig` });
    subscribe(hub, tab, 1, ['trucks/1']);
    subscribe(hub, tab, 2, ['payroll']);
    await until(() => hub.stats().state === 'open');
    expect(herald.last.topics).toEqual(['trucks/1']);
    expect(herald.last.headers.get('authorization')).toBe(`Bearer e30.${payload}.sig`);
    expect(tab.of('error')).toEqual([
      {
        kind: 'error',
        sub: 2,
        error: { kind: 'subscription', message: 'the token does not allow payroll', fatal: true, topics: ['payroll'] },
      },
    ]);
  });

  it('refuses a subscription that would take the stream over 64 topics', async () => {
    const { hub } = setup();
    const tab = new FakeTab('a');
    hello(hub, tab);
    subscribe(
      hub,
      tab,
      1,
      Array.from({ length: 60 }, (_, i) => `t/${i}`),
    );
    subscribe(hub, tab, 2, ['t/0', 't/1', 't/60', 't/61', 't/62', 't/63']);
    subscribe(hub, tab, 3, ['t/64']);
    expect(tab.of('error').map((m) => m.sub)).toEqual([3]);
    expect(hub.topics()).toHaveLength(64);
  });

  it('asks a tab with a token function for a fresh token before each connect', async () => {
    const { hub, herald } = setup();
    const tab = new FakeTab('a');
    hello(hub, tab, { tokenProvider: true });
    subscribe(hub, tab, 1, ['a']);
    await until(() => tab.of('token-request').length === 1);
    hub.receive(tab, { kind: 'token', request: tab.of('token-request')[0].request, token: 'fresh-1' });
    await until(() => hub.stats().state === 'open');
    expect(herald.last.headers.get('authorization')).toBe('Bearer fresh-1');
  });

  it('tells every tab about state changes and resets', async () => {
    const { hub, herald } = setup();
    const [a, b] = [new FakeTab('a'), new FakeTab('b')];
    hello(hub, a);
    hello(hub, b);
    expect(a.of('welcome')).toHaveLength(1);
    subscribe(hub, a, 1, ['a']);
    await until(() => hub.stats().state === 'open');
    herald.write('id: e2-1\nevent: reset\ndata: {"reason":"history-lost","lastEventId":"e1-9"}\n\n');
    await until(() => b.of('reset').length === 1);
    expect(a.of('reset')[0].info).toEqual({ reason: 'history-lost', lastEventId: 'e1-9' });
    expect(b.of('stats').map((m) => m.stats.state)).toContain('open');
  });

  describe('presence', () => {
    it('asks for it while a tab does, and gives each count only to tabs that asked and have the topic', async () => {
      const { hub, herald } = setup();
      const [a, b, c] = [new FakeTab('a'), new FakeTab('b'), new FakeTab('c')];
      hello(hub, a, { presence: true });
      hello(hub, b);
      hello(hub, c, { presence: true });
      subscribe(hub, a, 1, ['t/1']);
      subscribe(hub, a, 2, ['t/1', 't/2']);
      subscribe(hub, b, 1, ['t/1']);
      subscribe(hub, c, 1, ['t/3']);
      await until(() => hub.stats().state === 'open');
      expect(herald.requests).toHaveLength(1);
      expect(herald.last.url.searchParams.get('presence')).toBe('1');
      const id = herald.event('t/1', 'p1');
      herald.presence('t/1', 2);
      herald.presence('t/2', 1);
      herald.presence('t/3', 1);
      await until(() => a.presence.length === 2 && c.presence.length === 1);
      // One count per tab, however many of its subscriptions share the topic.
      expect(a.presence).toEqual(['t/1=2', 't/2=1']);
      expect(c.presence).toEqual(['t/3=1']);
      expect(b.presence).toEqual([]);
      expect(b.received).toEqual(['1:p1']);
      expect(hub.stats().lastEventId).toBe(id);
      expect(a.of('events').map((m) => m.lastEventId)).toEqual([id]);
    });

    it('gives a tab that subscribes to a topic the stream carries its last count at once, with no reconnect', async () => {
      const { hub, herald } = setup();
      const [a, b, late, quiet] = [new FakeTab('a'), new FakeTab('b'), new FakeTab('late'), new FakeTab('quiet')];
      hello(hub, a, { presence: true });
      hello(hub, b);
      subscribe(hub, a, 1, ['t/1']);
      subscribe(hub, b, 1, ['t/2']);
      await until(() => hub.stats().state === 'open');
      herald.presence('t/1', 4);
      herald.presence('t/2', 1);
      await until(() => a.presence.length === 1);
      hello(hub, late, { presence: true });
      hello(hub, quiet);
      subscribe(hub, late, 1, ['t/2', 't/1']);
      subscribe(hub, quiet, 1, ['t/1']);
      // Kept although no tab that asked had t/2 when its count came.
      expect(late.presence).toEqual(['t/2=1', 't/1=4']);
      expect(quiet.presence).toEqual([]);
      await sleep(60);
      expect(herald.requests).toHaveLength(1);
    });

    it('reopens with presence when the first tab asks and without when the last leaves, resuming each time', async () => {
      const { hub, herald } = setup();
      const [plain, asking, next] = [new FakeTab('plain'), new FakeTab('asking'), new FakeTab('next')];
      hello(hub, plain);
      subscribe(hub, plain, 1, ['x']);
      await until(() => hub.stats().state === 'open');
      expect(herald.last.url.searchParams.has('presence')).toBe(false);
      const id = herald.event('x', 1);
      await until(() => plain.received.length === 1);
      hello(hub, asking, { presence: true });
      subscribe(hub, asking, 1, ['x']);
      await until(() => herald.requests.length === 2 && hub.stats().state === 'open');
      expect(herald.last.url.searchParams.get('presence')).toBe('1');
      expect(herald.last.lastEventId).toBe(id);
      herald.presence('x', 1);
      await until(() => asking.presence.length === 1);
      hub.receive(asking, { kind: 'bye' });
      await until(() => herald.requests.length === 3 && hub.stats().state === 'open');
      expect(herald.last.url.searchParams.has('presence')).toBe(false);
      expect(herald.last.lastEventId).toBe(id);
      // The stream no longer counts: a new tab that asks gets no stale count, and the stream asks again.
      hello(hub, next, { presence: true });
      subscribe(hub, next, 1, ['x']);
      expect(next.presence).toEqual([]);
      await until(() => herald.requests.length === 4 && hub.stats().state === 'open');
      expect(herald.last.url.searchParams.get('presence')).toBe('1');
    });
  });
});
