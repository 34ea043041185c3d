import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { signJwt } from '../src/auth/jwt.js';
import { OCCUPANCY_SOURCE, type OccupancySource, type OccupancyTransition } from '../src/presence/occupancy-source.js';
import { PRESENCE } from '../src/presence/presence-tracker.js';
import { HeraldChild } from './support/herald-child.js';
import { eventually, sleep, startHerald, type RunningHerald } from './support/herald.js';
import { count, get, subscribe, JWT_SECRET, topicUrl, type Info } from './support/presence.js';
import type { RawSseClient } from './support/raw-sse.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

const available = await redisAvailable();
const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);
const TTL_MS = 2_000;
const GRACE_MS = 500;

function clusterEnv(prefix: string): Record<string, string> {
  return {
    BROKER: 'redis',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET,
    VACATED_GRACE_MS: String(GRACE_MS),
    PRESENCE_TTL_MS: String(TTL_MS),
    MAX_CONNECTIONS_PER_IP: '100000',
    LOG_LEVEL: 'warn',
  };
}

function recorded(herald: RunningHerald, into: (OccupancyTransition & { by: string })[], by: string): void {
  herald.get<OccupancySource>(OCCUPANCY_SOURCE).onTransition((transition) => into.push({ ...transition, by }));
}

/** A stream on a bare socket, its JWT in the query: open until destroyed; `ready` once its head is in. */
function bareStream(port: number, topics: string[]): { socket: Socket; ready: Promise<boolean> } {
  const socket = connect({ host: '127.0.0.1', port });
  const token = signJwt({ topics }, JWT_SECRET);
  const query = [...topics.map((topic) => `topic=${encodeURIComponent(topic)}`), `access_token=${token}`].join('&');
  socket.write(`GET /v1/events?${query} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n`);
  const ready = new Promise<boolean>((resolve) => {
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) resolve(head.startsWith('HTTP/1.1 200'));
    });
    socket.on('close', () => resolve(false));
    socket.on('error', () => resolve(false));
  });
  return { socket, ready };
}

describeWith(available, 'Redis is not reachable')('presence across two instances over Redis', () => {
  const prefix = `herald-presence-cluster:${process.pid}:${Date.now()}:`;
  let a: RunningHerald;
  let b: RunningHerald;
  const transitions: (OccupancyTransition & { by: string })[] = [];
  const streams: RawSseClient[] = [];

  beforeAll(async () => {
    a = await startHerald(clusterEnv(prefix));
    b = await startHerald(clusterEnv(prefix));
    recorded(a, transitions, 'a');
    recorded(b, transitions, 'b');
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('counts and presence are the sum of both instances, read from either', async () => {
    const topic = 'two/1';
    streams.push(subscribe(a, [topic], { sub: 'ann' }), subscribe(a, [topic]), subscribe(b, [topic], { sub: 'ann' }));
    streams.push(subscribe(b, [topic], { sub: 'bob', tenant: 't1' }));
    await Promise.all(streams.map((stream) => stream.waitForStatus()));
    await eventually(async () => ((await count(a, topic)) === 4 && (await count(b, topic)) === 4) || undefined);
    const presence = await get<{ anonymous: number; members: unknown[] }>(topicUrl(b, topic, '/presence'));
    expect(presence.body).toMatchObject({
      anonymous: 1,
      members: [
        { sub: 'ann', tenant: null, connections: 2 },
        { sub: 'bob', tenant: 't1', connections: 1 },
      ],
    });
    const listed = await get<{ topics: Info[] }>(`${a.url}/v1/topics?prefix=two/`);
    expect(listed.body.topics).toEqual([expect.objectContaining({ topic, subscribers: 4 })]);
  });

  it('each transition once per cluster: occupied on the first stream anywhere, vacated after the grace at zero', async () => {
    const topic = 'two/occ';
    const mine = (): typeof transitions => transitions.filter((transition) => transition.topic === topic);
    const onA = subscribe(a, [topic]);
    const onB = subscribe(b, [topic]);
    await Promise.all([onA.waitForStatus(), onB.waitForStatus()]);
    await eventually(async () => (await count(a, topic)) === 2 || undefined);
    // Everything moves to the other instance within the grace (a drain, a reconnect): nothing to report.
    onA.close();
    onB.close();
    const moved = subscribe(b, [topic]);
    await moved.waitForStatus();
    await sleep(GRACE_MS + 1_200);
    expect(mine().map((transition) => transition.event)).toEqual(['occupied']);
    moved.close();
    await eventually(() => mine().length === 2 || undefined, 5_000, 'vacated');
    await sleep(1_200);
    expect(mine().map((transition) => transition.event)).toEqual(['occupied', 'vacated']);
  });

  it('10,000 random connects and disconnects across both: the counts equal the open streams', async () => {
    const topics = Array.from({ length: 12 }, (_, i) => `churn/${i}`);
    const open: { socket: Socket; ready: Promise<boolean>; topics: string[] }[] = [];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let op = 0; op < 10_000; op++) {
      if (open.length < 50 || (open.length < 400 && random(2) === 0)) {
        const chosen = [...new Set([topics[random(12)], topics[random(12)]])];
        open.push({ ...bareStream(random(2) === 0 ? a.port : b.port, chosen), topics: chosen });
      } else {
        open.splice(random(open.length), 1)[0].socket.destroy();
      }
      if (op % 200 === 199) await sleep(5);
    }
    const opened = await Promise.all(open.map((stream) => stream.ready));
    expect(opened.every(Boolean)).toBe(true);
    const expected = Object.fromEntries(
      topics.map((topic) => [topic, open.filter((stream) => stream.topics.includes(topic)).length]),
    );
    const counted = async (herald: RunningHerald): Promise<Record<string, number>> => {
      const answer = await get<{ topics: Info[] }>(`${herald.url}/v1/topics?prefix=churn/&limit=1000`);
      const found = Object.fromEntries(topics.map((topic) => [topic, 0]));
      for (const info of answer.body.topics) found[info.topic] = info.subscribers;
      return found;
    };
    await eventually(
      async () => JSON.stringify(await counted(a)) === JSON.stringify(expected) || undefined,
      10_000,
      'exact counts on a',
    ).catch(async () => expect(await counted(a)).toEqual(expected));
    expect(await counted(b)).toEqual(expected);
    for (const stream of open) stream.socket.destroy();
    const zero = Object.fromEntries(topics.map((topic) => [topic, 0]));
    await eventually(async () => JSON.stringify(await counted(b)) === JSON.stringify(zero) || undefined, 10_000);
  }, 120_000);

  it('at most one Redis call per connect or disconnect, fewer when they come in a burst', async () => {
    const tracker = a.get<{ redis: Record<string, (...args: unknown[]) => Promise<unknown>> }>(PRESENCE);
    const redis = tracker.redis;
    const original = redis.heraldPresenceSync.bind(redis);
    let calls = 0;
    redis.heraldPresenceSync = (...args: unknown[]) => {
      calls++;
      return original(...args);
    };
    try {
      const burst = Array.from({ length: 200 }, (_, i) => bareStream(a.port, [`burst/${i % 10}`]));
      expect((await Promise.all(burst.map((stream) => stream.ready))).every(Boolean)).toBe(true);
      await eventually(async () => (await count(a, 'burst/3')) === 20 || undefined);
      const opening = calls;
      for (const stream of burst) stream.socket.destroy();
      await eventually(async () => (await count(b, 'burst/3')) === 0 || undefined);
      process.stdout.write(`presence writes: ${opening} for 200 connects, ${calls - opening} for 200 disconnects\n`);
      expect(opening).toBeLessThanOrEqual(200);
      expect(calls - opening).toBeLessThan(200);
    } finally {
      redis.heraldPresenceSync = original;
    }
  });

  it('a SIGKILLed instance stops counting within PRESENCE_TTL_MS and a sweep; vacated follows within the grace', async () => {
    const topic = 'two/crash';
    const child = await HeraldChild.start({ ...clusterEnv(prefix), LOG_LEVEL: 'info' });
    try {
      const on = [bareStream(child.port, [topic]), bareStream(child.port, [topic]), bareStream(child.port, [topic])];
      expect(await Promise.all(on.map((stream) => stream.ready))).toEqual([true, true, true]);
      await eventually(async () => (await count(a, topic)) === 3 || undefined, 5_000, 'three counted');
      child.signal('SIGKILL');
      const { at: killedAt } = await child.exited;
      await eventually(async () => (await count(a, topic)) === 0 || undefined, TTL_MS + 3_000, 'the dead streams gone');
      const vacated = await eventually(
        () => transitions.find((t) => t.topic === topic && t.event === 'vacated'),
        TTL_MS + GRACE_MS + 4_000,
        'vacated after the crash',
      );
      // Bound: PRESENCE_TTL_MS after the last renewal (≤ 1 sweep before the kill) + one sweep, then the grace + one sweep.
      expect(Date.now() - killedAt).toBeLessThanOrEqual(TTL_MS + GRACE_MS + 2 * 1_000 + 1_000);
      // `occupied` went to the child (its write saw the topic leave zero); `vacated` to one survivor, once.
      await sleep(1_200);
      expect(transitions.filter((t) => t.topic === topic).map((t) => t.event)).toEqual(['vacated']);
      expect(vacated.by === 'a' || vacated.by === 'b').toBe(true);
      for (const stream of on) stream.socket.destroy();
    } finally {
      await child.stop();
    }
  });

  it('while Redis is unreachable the answers are 503 with Retry-After, never a wrong number; exact again after', async () => {
    const proxy = new TcpProxy('127.0.0.1', REDIS_PORT);
    await proxy.open();
    const c = await startHerald({ ...clusterEnv(prefix), REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    try {
      const topic = 'two/outage';
      const onC = subscribe(c, [topic]);
      const leaving = subscribe(c, [topic]);
      const onA = subscribe(a, [topic]);
      streams.push(onC, leaving, onA);
      await Promise.all(streams.map((stream) => stream.waitForStatus()));
      await eventually(async () => (await count(c, topic)) === 3 || undefined);
      await proxy.cut();
      const down = await eventually(async () => {
        const answer = await get(topicUrl(c, topic));
        return answer.status === 503 ? answer : undefined;
      });
      expect(down.headers.get('retry-after')).toBe('30');
      // Both instances lose a stream meanwhile; only `a` can say so.
      onA.close();
      leaving.close();
      await eventually(async () => (await count(a, topic)) === 2 || undefined, 5_000, 'a counts its own change');
      await sleep(300);
      expect((await get(topicUrl(c, topic))).status).toBe(503);
      expect((await get(topicUrl(c, topic, '/presence'))).status).toBe(503);
      expect((await get(`${c.url}/v1/topics`)).status).toBe(503);
      await proxy.open();
      const back = await eventually(
        async () => {
          const answer = await get<Info>(topicUrl(c, topic));
          return answer.status === 200 ? answer : undefined;
        },
        10_000,
        'presence back',
      );
      expect(back.body.subscribers).toBe(1);
      expect(await count(a, topic)).toBe(1);
    } finally {
      await c.close();
      await proxy.cut();
    }
  });
});
