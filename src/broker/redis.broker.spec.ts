import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { parseEventId } from '@herald/sse';
import { describeWith, REDIS_URL, redisAvailable } from '../../test/support/services.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { loadConfig } from '../config/herald-config.js';
import { BrokerUnavailableError, type LiveLoss } from './event-broker.js';
import type { HeraldEvent } from './herald-event.js';
import { RedisBroker } from './redis.broker.js';

/** This spec's own logical DB for FLUSHDB, so suites sharing the Redis are untouched. */
const FLUSH_DB = 8;

function redisUrl(changes: { db?: number; port?: number }): string {
  const url = new URL(REDIS_URL);
  if (changes.db !== undefined) url.pathname = `/${changes.db}`;
  if (changes.port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(changes.port);
  }
  return url.toString();
}

const seqs = (events: readonly HeraldEvent[]) => events.map((event) => event.seq);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type LogLine = Record<string, unknown>;

/** A logger that keeps one broker's lines: each transition is logged once, so the lines are its record. */
class Recorder extends Logger {
  readonly lines: LogLine[] = [];
  override log(line: LogLine): void {
    this.lines.push(line);
  }
  override warn(line: LogLine): void {
    this.lines.push(line);
  }
  override error(line: LogLine): void {
    this.lines.push(line);
  }
}

const recorders = new Map<RedisBroker, Recorder>();
const recoveries = (subject: RedisBroker) =>
  (recorders.get(subject) as Recorder).lines.filter(
    (line) => line.msg === 'redis live feed restored' || line.msg === 'redis live feed filled a gap',
  );
/** Events the live feed recovered from history, summed over its recoveries. */
const recoveredEvents = (subject: RedisBroker) =>
  recoveries(subject).reduce((sum, line) => sum + Number(line.recoveredEvents), 0);

/** How often each transition happened, counted from the log lines. */
function transitions(subject: RedisBroker): Record<string, number> {
  const lines = (recorders.get(subject) as Recorder).lines;
  const logged = (msg: string) => lines.filter((line) => line.msg === msg).length;
  return {
    'connection-lost': logged('redis connection lost'),
    'connection-restored': logged('redis connection restored'),
    'live-feed-lost': logged('redis live feed lost'),
    'live-feed-restored': logged('redis live feed restored'),
    'gap-filled': recoveries(subject).filter((line) => Number(line.recoveredEvents) > 0).length,
    'history-lost': logged('redis history lost'),
    'epoch-changed': logged('redis epoch changed'),
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const available = await redisAvailable();

describeWith(available, `Redis at ${REDIS_URL}`)('RedisBroker (real Redis)', () => {
  let admin: Redis;
  const brokers: RedisBroker[] = [];
  const prefixes: string[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(() => {
    Logger.overrideLogger(['error']);
    admin = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    for (const broker of brokers.splice(0)) broker.onApplicationShutdown();
    recorders.clear();
    for (const proxy of proxies.splice(0)) await proxy.cut();
    for (const prefix of prefixes.splice(0)) {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length > 0) await admin.del(...keys);
    }
  });

  afterAll(async () => {
    await admin.quit();
  });

  function newPrefix(): string {
    const prefix = `herald-spec:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`;
    prefixes.push(prefix);
    return prefix;
  }

  async function broker(prefix: string, env: Record<string, string> = {}): Promise<RedisBroker> {
    const recorder = new Recorder('RedisBroker');
    const subject = new RedisBroker(
      loadConfig({ ADMIN_TOKEN: 'x'.repeat(16), BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, ...env }),
      recorder,
    );
    recorders.set(subject, recorder);
    brokers.push(subject);
    await subject.onModuleInit();
    return subject;
  }

  function listen(subject: RedisBroker): { events: HeraldEvent[]; losses: LiveLoss[] } {
    const seen = { events: [] as HeraldEvent[], losses: [] as LiveLoss[] };
    subject.onLive(
      (events) => seen.events.push(...events),
      (loss) => seen.losses.push(loss),
    );
    return seen;
  }

  const one = (topic: string, data: unknown, type = 'message') => [{ topic, type, data }];

  it('gives two instances one epoch and one counter: ids increase across topics and instances', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix);
    const b = await broker(prefix);
    const [first] = await a.publish(one('x', 1));
    const [second, third] = await b.publish([
      { topic: 'y', type: 'message', data: 2 },
      { topic: 'x', type: 't', data: 3 },
    ]);
    expect(a.epoch()).toBe(b.epoch());
    expect([first, second, third].map((event) => parseEventId(event.id))).toEqual([
      { epoch: a.epoch(), seq: first.seq },
      { epoch: a.epoch(), seq: first.seq + 1 },
      { epoch: a.epoch(), seq: first.seq + 2 },
    ]);
  });

  it('replays after a cursor on either instance, merged across topics in id order, only the asked topics', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix);
    const b = await broker(prefix);
    const events = await a.publish(
      ['a', 'b', 'c', 'a', 'b', 'c', 'a'].map((topic, i) => ({ topic, type: 'message', data: { i } })),
    );
    const result = await b.replay(['a', 'b'], parseEventId(events[1].id));
    expect(result.reset).toBe(false);
    expect(seqs(result.events)).toEqual([3, 4, 6].map((i) => events[i].seq));
    expect(result.head).toBe(events[6].id);
    // Rebuilt from Redis, the events are byte-identical to the publisher's.
    for (const event of result.events) {
      const original = events.find((candidate) => candidate.seq === event.seq) as HeraldEvent;
      expect(event.frame('raw').equals(original.frame('raw'))).toBe(true);
      expect(event.frame('envelope').equals(original.frame('envelope'))).toBe(true);
    }
  });

  it('a null cursor replays nothing and is not a reset', async () => {
    const a = await broker(newPrefix());
    const [event] = await a.publish(one('a', 1));
    expect(await a.replay(['a'], null)).toMatchObject({ events: [], reset: false, headSeq: event.seq });
  });

  it('latest: the newest event of each asked topic, on either instance, in id order, with the head', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix);
    const events = await a.publish(['a', 'b', 'a', 'c'].map((topic, i) => ({ topic, type: 't', data: { i } })));
    const b = await broker(prefix);
    const result = await b.latest(['c', 'a', 'b', 'none']);
    expect(result).toMatchObject({ reset: false, headSeq: events[3].seq, head: events[3].id });
    expect(result.events.map((event) => [event.id, event.topic, event.type, event.data])).toEqual(
      [1, 2, 3].map((i) => [events[i].id, events[i].topic, 't', { i }]),
    );
    expect((await a.latest(['none'])).events).toEqual([]);
  });

  it('latest on a fresh prefix (no head yet): no events and a head, not an error', async () => {
    const a = await broker(newPrefix());
    expect(await a.latest(['a'])).toMatchObject({ events: [], reset: false, headSeq: 0 });
  });

  it('latest leaves out an event past HISTORY_TTL_MS that Redis still holds', async () => {
    const a = await broker(newPrefix(), { HISTORY_TTL_MS: '1000' });
    await a.publish(one('a', 'old'));
    await sleep(1_200);
    expect((await a.latest(['a'])).events).toEqual([]);
  });

  it('resets for another epoch, a seq ahead of head, or garbage', async () => {
    const a = await broker(newPrefix());
    const [event] = await a.publish(one('a', 1));
    expect((await a.replay(['a'], { epoch: 'other', seq: 0 })).reset).toBe(true);
    expect((await a.replay(['a'], { epoch: a.epoch(), seq: event.seq + 1 })).reset).toBe(true);
    expect((await a.replay(['a'], { epoch: '', seq: -1 })).reset).toBe(true);
    expect((await a.replay(['a'], { epoch: a.epoch(), seq: 0 })).reset).toBe(false);
  });

  it('trims with MAXLEN ~ HISTORY_SIZE yet never claims an exact resume it cannot give', async () => {
    const a = await broker(newPrefix(), { HISTORY_SIZE: '3' });
    const published: HeraldEvent[] = [];
    for (let batch = 0; batch < 5; batch++) {
      published.push(...(await a.publish(Array.from({ length: 50 }, (_, i) => one('a', batch * 50 + i)[0]))));
    }
    const [other] = await a.publish(one('b', 'b'));
    const lastA = published[published.length - 1].seq;
    let boundary = -1;
    for (let cursor = 0; cursor <= lastA; cursor++) {
      const result = await a.replay(['a'], { epoch: a.epoch(), seq: cursor });
      if (result.reset) {
        expect(boundary).toBe(-1); // Once exact, every newer cursor stays exact.
        continue;
      }
      if (boundary === -1) boundary = cursor;
      expect(seqs(result.events)).toEqual(published.filter((event) => event.seq > cursor).map((event) => event.seq));
    }
    expect(boundary).toBeGreaterThan(0); // Redis did trim ...
    expect(lastA - boundary).toBeGreaterThanOrEqual(3); // ... and kept at least HISTORY_SIZE.
    // Topic b lost nothing, so an old cursor is exact there.
    expect(seqs((await a.replay(['b'], { epoch: a.epoch(), seq: 0 })).events)).toEqual([other.seq]);
  });

  it('drops history older than HISTORY_TTL_MS, forgets expired topics, and resets cursors that needed them', async () => {
    const a = await broker(newPrefix(), { HISTORY_TTL_MS: '1000' });
    const [old] = await a.publish(one('a', 'old'));
    await sleep(600);
    const [recent] = await a.publish(one('a', 'recent'));
    await sleep(600);
    expect((await a.replay(['a'], { epoch: a.epoch(), seq: 0 })).reset).toBe(true);
    expect(seqs((await a.replay(['a'], parseEventId(old.id))).events)).toEqual([recent.seq]);
    await sleep(1_100);
    // A publish elsewhere sweeps topic a (its newest event is past the TTL): its events count as lost.
    const [later] = await a.publish(one('b', 'later'));
    expect(a.historySize()).toBe(1);
    expect((await a.replay(['a'], parseEventId(old.id))).reset).toBe(true);
    expect((await a.replay(['a'], parseEventId(recent.id))).reset).toBe(false);
    expect((await a.replay(['a', 'b'], parseEventId(recent.id))).events.map((event) => event.id)).toEqual([later.id]);
  });

  it('trims a busy topic by HISTORY_TTL_MS with MINID, so Redis holds only the window', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix, { HISTORY_TTL_MS: '1000' });
    const published: HeraldEvent[] = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await sleep(600);
      published.push(...(await a.publish(one('busy', i))));
    }
    const kept = (await admin.xrange(`${prefix}${a.epoch()}:t:busy`, '-', '+')).map(([id]) => Number.parseInt(id, 10));
    const last = published[published.length - 1];
    // Older events are gone (the trim point lags the cutoff by at most a checkpoint, 1 s) ...
    expect(kept.length).toBeLessThan(published.length);
    expect(kept).toEqual(seqs(published.slice(published.length - kept.length)));
    // ... and every event inside the TTL window is still there.
    const inWindow = published.filter((event) => event.ts >= last.ts - 1_000);
    expect(kept.slice(-inWindow.length)).toEqual(seqs(inWindow));
    expect(a.historySize()).toBe(kept.length);
  });

  it('emits every publish of any instance on each live feed once, in id order, with identical bytes', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix);
    const b = await broker(prefix);
    const onA = listen(a);
    const onB = listen(b);
    const published = [
      ...(await a.publish([
        { topic: 'x', type: 'message', data: 'line 1\nline 2' },
        { topic: 'y', type: 'pos', data: { lat: 1.5 } },
      ])),
      ...(await b.publish(one('x', null))),
      ...(await a.publish(one('z', [1, 'two']))),
    ];
    await until(() => onA.events.length === 4 && onB.events.length === 4, 'both live feeds');
    for (const seen of [onA.events, onB.events]) {
      expect(seqs(seen)).toEqual(seqs(published));
      seen.forEach((event, i) => {
        expect(event.frame('raw').equals(published[i].frame('raw'))).toBe(true);
        expect(event.frame('envelope').equals(published[i].frame('envelope'))).toBe(true);
      });
    }
  });

  it('fills the gap when its live connection is cut: none lost, none twice, in order', async () => {
    const prefix = newPrefix();
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
    proxies.push(proxy);
    await proxy.open();
    const a = await broker(prefix);
    const b = await broker(prefix, { REDIS_URL: redisUrl({ port: proxy.port }) });
    const onB = listen(b);
    const before = await a.publish(one('x', 0));
    await until(() => onB.events.length === 1, 'first event on b');
    await proxy.cut();
    await until(() => b.state().liveFeed === 'down', 'b to notice the outage');
    await expect(b.publish(one('x', 'rejected'))).rejects.toBeInstanceOf(BrokerUnavailableError);
    const during: HeraldEvent[] = [];
    for (let i = 1; i <= 30; i++) during.push(...(await a.publish(one(i % 2 ? 'x' : 'y', i))));
    await proxy.open();
    await until(() => b.state().liveFeed === 'live', 'b live again');
    const after = await a.publish(one('y', 'after'));
    await until(() => onB.events.length === 32, 'b to see every event');
    await sleep(100);
    expect(seqs(onB.events)).toEqual(seqs([...before, ...during, ...after]));
    expect(b.state()).toMatchObject({ connected: true, liveFeed: 'live' });
    expect(recoveredEvents(b)).toBe(30);
    expect(transitions(b)).toMatchObject({
      'connection-lost': 1,
      'connection-restored': 1,
      'live-feed-lost': 1,
      'live-feed-restored': 1,
      'gap-filled': 1,
      'history-lost': 0,
    });
  });

  it('survives CLIENT KILL TYPE pubsub while publishes go on', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix);
    const b = await broker(prefix);
    const onB = listen(b);
    const published: HeraldEvent[] = [];
    const killAt = Date.now() + 50;
    let killed = false;
    while (Date.now() < killAt + 400) {
      if (!killed && Date.now() >= killAt) {
        await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
        killed = true;
      }
      published.push(...(await a.publish(one('k', published.length))));
    }
    await until(() => onB.events.length >= published.length, 'b to see every event');
    await sleep(100);
    expect(seqs(onB.events)).toEqual(seqs(published));
    expect(transitions(b)['live-feed-lost']).toBeGreaterThanOrEqual(1);
    expect(recoveredEvents(b)).toBeGreaterThan(0);
  });

  it('reports the topics whose missed events Redis trimmed before the feed came back', async () => {
    const prefix = newPrefix();
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
    proxies.push(proxy);
    await proxy.open();
    const a = await broker(prefix, { HISTORY_SIZE: '3' });
    const b = await broker(prefix, { HISTORY_SIZE: '3', REDIS_URL: redisUrl({ port: proxy.port }) });
    const onB = listen(b);
    await proxy.cut();
    await until(() => b.state().liveFeed === 'down', 'b to notice the outage');
    const busy = await a.publish(Array.from({ length: 300 }, (_, i) => one('busy', i)[0]));
    const [quiet] = await a.publish(one('quiet', 'q'));
    await proxy.open();
    await until(() => b.state().liveFeed === 'live', 'b live again');
    // quiet lost nothing and arrives; busy's oldest missed events are gone, and b says so.
    expect(seqs(onB.events)).toEqual([quiet.seq]);
    expect(onB.losses).toEqual([{ epoch: a.epoch(), seq: quiet.seq, topics: ['busy'] }]);
    expect(busy).toHaveLength(300);
    expect(transitions(b)['history-lost']).toBe(1);
  });

  it('starts a new epoch when Redis loses its data, above every seq open streams have seen', async () => {
    const url = redisUrl({ db: FLUSH_DB });
    const prefix = newPrefix();
    const a = await broker(prefix, { REDIS_URL: url });
    const b = await broker(prefix, { REDIS_URL: url });
    const onB = listen(b);
    const [before] = await a.publish(one('f', 'before'));
    await until(() => onB.events.length === 1, 'first event on b');
    const flusher = new Redis(url);
    await flusher.flushdb();
    await flusher.quit();
    const [after] = await a.publish(one('f', 'after'));
    const epoch = parseEventId(after.id)?.epoch;
    expect(epoch).not.toBe(parseEventId(before.id)?.epoch);
    expect(after.seq).toBeGreaterThan(before.seq);
    await until(() => onB.events.length === 2, 'the new epoch on b');
    expect(onB.events[1].id).toBe(after.id);
    expect(onB.losses).toEqual([{ epoch, seq: after.seq - 1, topics: null }]);
    expect(b.epoch()).toBe(epoch);
    expect(transitions(b)['epoch-changed']).toBe(1);
    // A resume from the lost history is a reset, on either instance.
    const replayed = await b.replay(['f'], parseEventId(before.id));
    expect(replayed).toMatchObject({ reset: true, head: after.id });
  });

  it('after an outage spanning a new epoch, the feed delivers that epoch from its start, not from its head', async () => {
    // A failover that lost writes while this process was cut off: Redis moved on to a new epoch meanwhile.
    const url = redisUrl({ db: FLUSH_DB });
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
    proxies.push(proxy);
    await proxy.open();
    const prefix = newPrefix();
    const a = await broker(prefix, { REDIS_URL: url });
    const b = await broker(prefix, { REDIS_URL: redisUrl({ db: FLUSH_DB, port: proxy.port }) });
    const onB = listen(b);
    const [before] = await a.publish(one('e', 'before'));
    await until(() => onB.events.length === 1, 'first event on b');
    await proxy.cut();
    await until(() => b.state().liveFeed === 'down', 'b to notice the outage');
    const flusher = new Redis(url);
    await flusher.flushdb();
    await flusher.quit();
    const after = await a.publish([one('e', 1)[0], one('f', 2)[0], one('e', 3)[0]]);
    const epoch = parseEventId(after[0].id)?.epoch;
    expect(epoch).not.toBe(parseEventId(before.id)?.epoch);
    await proxy.open();
    await until(() => b.state().liveFeed === 'live', 'b live again');
    await until(() => onB.events.length === 4, 'the new epoch on b');
    // One reset where the old history ends, then every event the new epoch holds.
    expect(onB.losses).toEqual([{ epoch, seq: before.seq, topics: null }]);
    expect(onB.events.map((event) => event.id)).toEqual([before, ...after].map((event) => event.id));
  });

  async function snapshot(prefix: string): Promise<Map<string, Buffer>> {
    const keys = await admin.keys(`${prefix}*`);
    return new Map(await Promise.all(keys.map(async (key) => [key, await admin.dumpBuffer(key)] as const)));
  }

  async function restore(prefix: string, saved: Map<string, Buffer>): Promise<void> {
    for (const key of await admin.keys(`${prefix}*`)) if (!saved.has(key)) await admin.del(key);
    for (const [key, dump] of saved) await admin.restore(key, 0, dump, 'REPLACE');
  }

  it('moves to a new epoch when Redis comes back from an older snapshot, and retires the old keys', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix);
    const b = await broker(prefix);
    const onB = listen(b);
    const [first] = await a.publish(one('r', 1));
    const saved = await snapshot(prefix);
    const seen = await a.publish([one('r', 2)[0], one('s', 3)[0], one('r', 4)[0]]);
    await until(() => onB.events.length === 4, 'b to see all four');
    const lostEpoch = a.epoch();
    await restore(prefix, saved);
    // A process that never saw the lost ids cannot tell, and hands one out again ...
    const fresh = await broker(prefix);
    const [reused] = await fresh.publish(one('r', 'reused'));
    expect(reused.id).toBe(`${lostEpoch}-${first.seq + 1}`);
    // ... but b's feed sees the seq go backwards: Redis moves to a new epoch above every seq b has seen.
    await until(() => onB.losses.length === 1, 'b to report the loss');
    const epoch = onB.losses[0].epoch;
    expect(epoch).not.toBe(lostEpoch);
    expect(onB.losses[0]).toEqual({ epoch, seq: seen[2].seq, topics: null });
    const [next] = await a.publish(one('r', 'next'));
    expect(parseEventId(next.id)).toEqual({ epoch, seq: seen[2].seq + 1 });
    await until(() => onB.events.length === 5, 'the new epoch on b');
    expect(onB.events.map((event) => event.id)).toEqual([first, ...seen, next].map((event) => event.id));
    expect((await a.replay(['r'], parseEventId(reused.id))).reset).toBe(true);
    expect((await a.replay(['r'], parseEventId(next.id))).reset).toBe(false);
    // The lost epoch's keys are gone after that publish.
    expect(await admin.keys(`${prefix}${lostEpoch}:*`)).toEqual([]);
    expect(await admin.llen(`${prefix}retired`)).toBe(0);
  });

  it('never hands out an id twice when only the counter went back: a new epoch starts above the log', async () => {
    const prefix = newPrefix();
    const a = await broker(prefix);
    await a.publish(one('r', 1));
    const savedHead = await admin.dumpBuffer(`${prefix}head`);
    const seen = await a.publish([one('r', 2)[0], one('r', 3)[0]]);
    await admin.restore(`${prefix}head`, 0, savedHead, 'REPLACE');
    const fresh = await broker(prefix);
    const [next] = await fresh.publish(one('r', 'next'));
    expect(parseEventId(next.id)?.epoch).not.toBe(parseEventId(seen[1].id)?.epoch);
    expect(next.seq).toBe(seen[1].seq + 1);
  });

  it('starts without Redis, rejects publish and ping at once, and connects when Redis appears', async () => {
    const port = await TcpProxy.closedPort();
    const started = Date.now();
    const subject = await broker(newPrefix(), { REDIS_URL: redisUrl({ port }) });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(subject.state()).toMatchObject({ connected: false, liveFeed: 'down' });
    const rejectedAt = Date.now();
    await expect(subject.publish(one('a', 1))).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(subject.replay(['a'], null)).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(subject.ping(1_000)).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(Date.now() - rejectedAt).toBeLessThan(100);
    // Redis comes up on that port (a relay to the real one): the broker connects by itself.
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
    proxy.port = port;
    proxies.push(proxy);
    await proxy.open();
    await until(() => subject.state().connected && subject.state().liveFeed === 'live', 'connected');
    await expect(subject.ping(1_000)).resolves.toBeUndefined();
    const [event] = await subject.publish(one('a', 1));
    expect(parseEventId(event.id)?.epoch).toBe(subject.epoch());
  });
});
