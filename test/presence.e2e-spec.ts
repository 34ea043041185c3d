import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { signJwt } from '../src/auth/jwt.js';
import { OCCUPANCY_SOURCE, type OccupancySource, type OccupancyTransition } from '../src/presence/occupancy-source.js';
import {
  ADMIN_TOKEN,
  eventually,
  publishOk,
  request,
  sleep,
  startHerald,
  type HttpAnswer,
  type RunningHerald,
} from './support/herald.js';
import { RawSseClient } from './support/raw-sse.js';
import { REDIS_URL, redisAvailable } from './support/services.js';
import { count, get, JWT_SECRET, subscribe, topicUrl, type Info, type Presence } from './support/presence.js';

const available = await redisAvailable();
const prefix = (): string => `herald-presence:${process.pid}:${Math.random()}:`;
const brokers: [string, boolean, () => Record<string, string>][] = [
  ['memory', true, () => ({})],
  ['redis', available, () => ({ BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix() })],
];

function recordTransitions(herald: RunningHerald): OccupancyTransition[] {
  const seen: OccupancyTransition[] = [];
  herald.get<OccupancySource>(OCCUPANCY_SOURCE).onTransition((transition) => seen.push(transition));
  return seen;
}

describe.each(brokers)('presence on the %s broker', (_name, enabled, env) => {
  let herald: RunningHerald;
  let transitions: OccupancyTransition[];
  const streams: RawSseClient[] = [];
  const open = (topics: string[], options?: Parameters<typeof subscribe>[2]): RawSseClient => {
    const stream = subscribe(herald, topics, options);
    streams.push(stream);
    return stream;
  };

  beforeAll(async () => {
    if (!enabled) return;
    herald = await startHerald({ ...env(), JWT_SECRET, VACATED_GRACE_MS: '400' });
    transitions = recordTransitions(herald);
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => herald?.close());

  const maybe = enabled ? it : it.skip;

  maybe('topic info: subscribers, the newest retained event, and how many are held', async () => {
    expect((await get<Info>(topicUrl(herald, 'info/empty'))).body).toEqual({
      topic: 'info/empty',
      subscribers: 0,
      lastEventId: null,
      lastEventAt: null,
      retained: 0,
    });
    await publishOk(herald, 'info/a', { n: 1 });
    const second = await publishOk(herald, 'info/a', { n: 2 });
    const streamA = open(['info/a']);
    const streamB = open(['info/a', 'info/b']);
    await Promise.all([streamA.waitForStatus(), streamB.waitForStatus()]);
    await eventually(async () => (await count(herald, 'info/a')) === 2 || undefined);
    const info = (await get<Info>(topicUrl(herald, 'info/a'))).body;
    expect(info).toEqual({
      topic: 'info/a',
      subscribers: 2,
      lastEventId: second,
      lastEventAt: expect.any(Number),
      retained: 2,
    });
    expect(Math.abs((info.lastEventAt ?? 0) - Date.now())).toBeLessThan(10_000);
    expect(await count(herald, 'info/b')).toBe(1);
    streamA.close();
    await eventually(async () => (await count(herald, 'info/a')) === 1 || undefined, 5_000, 'the count to drop');
  });

  maybe(
    'a snapshot then a stream from its lastEventId: nothing lost or doubled, while publishing goes on',
    async () => {
      const topic = 'snap/1';
      let n = 0;
      let publishing = true;
      const numberOf = new Map<string, number>();
      const publisher = (async () => {
        while (publishing) numberOf.set(await publishOk(herald, topic, { n: ++n }), n);
      })();
      await sleep(100);
      const snapshot = (await get<Info>(topicUrl(herald, topic))).body;
      const stream = open([topic], { lastEventId: snapshot.lastEventId ?? undefined });
      await sleep(200);
      publishing = false;
      await publisher;
      const last = n;
      const events = await stream.waitForEvents(1);
      const first = (JSON.parse(events[0].data) as { n: number }).n;
      await eventually(
        () => stream.events.length === last - first + 1 || undefined,
        5_000,
        'every event after the snapshot',
      );
      const received = stream.events.map((event) => (JSON.parse(event.data) as { n: number }).n);
      // The first event is the one right after the snapshot's, then every one in order, once.
      expect(received).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
      expect(first).toBe((numberOf.get(snapshot.lastEventId ?? '') ?? NaN) + 1);
    },
  );

  maybe('the topic list: subscribed or retained topics under a prefix, page by page, each once', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `list/${String.fromCharCode(97 + i)}`);
    for (const topic of names.slice(0, 4)) await publishOk(herald, topic, { topic });
    const stream = open(names.slice(3));
    await stream.waitForStatus();
    await eventually(async () => (await count(herald, names[6])) === 1 || undefined);
    await publishOk(herald, 'other/x', 1);
    const seen: Info[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `prefix=list/&limit=3${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page: HttpAnswer<{ topics: Info[]; cursor: string | null }> = await get(`${herald.url}/v1/topics?${query}`);
      expect(page.status).toBe(200);
      expect(page.body.topics.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.topics);
      cursor = page.body.cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(seen.map((info) => info.topic)).toEqual(names);
    expect(seen.map((info) => info.subscribers)).toEqual([0, 0, 0, 1, 1, 1, 1]);
    expect(seen.map((info) => info.retained)).toEqual([1, 1, 1, 1, 0, 0, 0]);
    expect(pages).toBe(3);
  });

  maybe('presence: members by sub and tenant with their stream counts, anonymous counted, pages in order', async () => {
    const topic = 'room/1';
    open([topic], { sub: 'ann', tenant: 'acme' });
    open([topic], { sub: 'ann', tenant: 'acme' });
    open([topic], { sub: 'ann', tenant: 'other' });
    open([topic], { sub: 'bob' });
    open([topic]);
    await Promise.all(streams.map((stream) => stream.waitForStatus()));
    await eventually(async () => (await count(herald, topic)) === 5 || undefined);
    const whole = (await get<Presence>(topicUrl(herald, topic, '/presence'))).body;
    expect(whole.subscribers).toBe(5);
    expect(whole.anonymous).toBe(1);
    expect(whole.cursor).toBeNull();
    expect(whole.members).toEqual(
      expect.arrayContaining([
        { sub: 'ann', tenant: 'acme', connections: 2 },
        { sub: 'ann', tenant: 'other', connections: 1 },
        { sub: 'bob', tenant: null, connections: 1 },
      ]),
    );
    expect(whole.members).toHaveLength(3);
    const paged: Presence['members'] = [];
    let cursor: string | null = null;
    do {
      const page: HttpAnswer<Presence> = await get(
        topicUrl(herald, topic, `/presence?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`),
      );
      expect(page.body.members.length).toBeLessThanOrEqual(1);
      paged.push(...page.body.members);
      cursor = page.body.cursor;
    } while (cursor !== null && paged.length < 10);
    expect(paged).toEqual(whole.members);
  });

  maybe(
    'presence=1: counts as frames without ids, after the replay, at most one a second per topic, the last one exact',
    async () => {
      const topic = 'watch/1';
      const ids = [await publishOk(herald, topic, 1), await publishOk(herald, topic, 2)];
      const watcher = open([topic, 'watch/2'], { query: '&presence=1', lastEventId: ids[0] });
      await watcher.waitForStatus();
      const firstCounts = await eventually(
        () => (watcher.events.filter((event) => event.event === 'presence').length >= 2 ? watcher.events : undefined),
        5_000,
        'the first presence frames',
      );
      // The replayed event is written first; presence frames carry no id, so a reconnect resumes from the event.
      expect(firstCounts[0]).toMatchObject({ event: 'message', id: ids[1] });
      const presence = (): { topic: string; subscribers: number; at: number }[] =>
        watcher.events.filter((event) => event.event === 'presence').map((event) => JSON.parse(event.data));
      expect(
        presence()
          .map(({ topic: t, subscribers }) => [t, subscribers])
          .sort(),
      ).toEqual([
        [topic, 1],
        ['watch/2', 1],
      ]);
      const presenceFrames = watcher.body.split('\n\n').filter((frame) => frame.includes('event: presence'));
      expect(presenceFrames.length).toBeGreaterThanOrEqual(2);
      expect(presenceFrames.some((frame) => frame.includes('id:'))).toBe(false);
      const before = presence().length;
      const startedAt = Date.now();
      // A burst: 12 streams join within a few ms.
      for (let i = 0; i < 12; i++) open([topic]);
      await eventually(() => presence().at(-1)?.subscribers === 13 || undefined, 5_000, 'the count after the burst');
      const during = presence().slice(before);
      const seconds = (Date.now() - startedAt) / 1000;
      expect(during.every((frame) => frame.topic === topic)).toBe(true);
      expect(during.length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
      await sleep(1_300);
      expect(presence().slice(before).at(-1)?.subscribers).toBe(13);
      expect(presence().length - before).toBe(during.length); // nothing changed: nothing more sent
    },
  );

  maybe(
    'occupied once at the first stream, not again after a reconnect within the grace, vacated after it',
    async () => {
      const topic = 'occ/1';
      const mine = (): OccupancyTransition[] => transitions.filter((transition) => transition.topic === topic);
      const first = open([topic]);
      await first.waitForStatus();
      await eventually(() => mine().length === 1 || undefined, 5_000, 'occupied');
      const second = open([topic]);
      await second.waitForStatus();
      first.close();
      second.close();
      await eventually(async () => (await count(herald, topic)) === 0 || undefined);
      const back = open([topic]);
      await back.waitForStatus();
      await sleep(800);
      expect(mine().map((transition) => transition.event)).toEqual(['occupied']);
      back.close();
      const vacated = await eventually(() => mine()[1], 5_000, 'vacated');
      expect(vacated.event).toBe('vacated');
      expect(Date.now() - vacated.at).toBeGreaterThanOrEqual(400);
      expect(mine()[0].at).toBeLessThanOrEqual(vacated.at);
    },
  );

  maybe('credentials: a publisher credential, scoped like publishing; bad input is a precise 400', async () => {
    const scoped = signJwt({ publish: ['trucks/*'], sub: 'backend' }, JWT_SECRET);
    expect((await request(topicUrl(herald, 'trucks/1'))).status).toBe(401);
    expect((await get(topicUrl(herald, 'trucks/1'), scoped)).status).toBe(200);
    expect((await get(topicUrl(herald, 'trucks/1'), ADMIN_TOKEN)).status).toBe(200);
    const denied = await get<{ message: string }>(topicUrl(herald, 'prices/1', '/presence'), scoped);
    expect(denied.status).toBe(403);
    await publishOk(herald, 'prices/1', 1);
    await publishOk(herald, 'trucks/1', 1);
    const listed = await get<{ topics: Info[] }>(`${herald.url}/v1/topics`, scoped);
    expect(listed.body.topics.map((info) => info.topic)).toContain('trucks/1');
    expect(listed.body.topics.some((info) => !info.topic.startsWith('trucks/'))).toBe(false);
    const bad = await get<{ message: string }>(topicUrl(herald, 'a b'));
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringContaining('invalid topic "a b"') } });
    const badLimit = await get<{ message: string }>(`${herald.url}/v1/topics?limit=0`);
    expect(badLimit).toMatchObject({ status: 400, body: { message: 'limit must be a whole number from 1 to 1000' } });
    const badPrefix = await get<{ message: string }>(`${herald.url}/v1/topics?prefix=a%20b`);
    expect(badPrefix.status).toBe(400);
    const badPresence = subscribe(herald, ['x'], { query: '&presence=yes' });
    expect(await badPresence.waitForStatus()).toBe(400);
    expect(badPresence.json()).toMatchObject({ message: 'invalid presence "yes": 0 or 1' });
    badPresence.close();
  });
});

describe('PRESENCE=off', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald({ PRESENCE: 'off' });
  });
  afterAll(async () => herald.close());

  it('answers 404 on the topic routes and 400 to presence=1, and streams still work', async () => {
    const info = await get<{ message: string }>(topicUrl(herald, 'a'));
    expect(info).toMatchObject({ status: 404, body: { message: 'presence is off (PRESENCE=off)' } });
    const stream = new RawSseClient(`${herald.url}/v1/events?topic=a&presence=1`);
    expect(await stream.waitForStatus()).toBe(400);
    expect(stream.json()).toMatchObject({ message: 'presence is off (PRESENCE=off)' });
    stream.close();
    const plain = new RawSseClient(`${herald.url}/v1/events?topic=a`);
    expect(await plain.waitForStatus()).toBe(200);
    plain.close();
  });
});
