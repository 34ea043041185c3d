import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { parseEventId } from '@herald/sse';
import type { ParsedEvent } from '../libs/sse/src/parser.js';
import { PUBLISH_TOKEN, eventually, request, sleep, type HttpAnswer } from './support/herald.js';
import { HeraldChild } from './support/herald-child.js';
import { RawSseClient } from './support/raw-sse.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

/** This suite's own logical DB: it runs FLUSHDB, which must not touch suites sharing the Redis. */
const SUITE_DB = 7;
const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);

function redisUrl(port?: number): string {
  const url = new URL(REDIS_URL);
  url.pathname = `/${SUITE_DB}`;
  if (port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  return url.toString();
}

/** The server process (HeraldChild) with the publish calls these tests make on it. */
class HeraldProcess extends HeraldChild {
  publish(topic: string, data: unknown, type?: string): Promise<HttpAnswer<{ id: string }>> {
    return request(`${this.url}/v1/topics/${encodeURIComponent(topic)}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
      json: type === undefined ? { data } : { type, data },
    });
  }

  async publishOk(topic: string, data: unknown): Promise<string> {
    const answer = await this.publish(topic, data);
    if (answer.status !== 202) throw new Error(`publish failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.id;
  }

  async publishBatch(items: { topic: string; type?: string; data: unknown }[]): Promise<string[]> {
    const answer = await request<{ ids: string[] }>(`${this.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
      json: items,
    });
    if (answer.status !== 202) throw new Error(`batch failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.ids;
  }
}

const readiness = async (herald: HeraldProcess): Promise<number> =>
  (await request(`${herald.url}/health/ready`)).status;

const seqOf = (id: string | undefined): number => parseEventId(id)?.seq ?? Number.NaN;
const ids = (events: ParsedEvent[]): (string | undefined)[] => events.map((event) => event.id);

function expectStrictlyIncreasing(values: (string | undefined)[]): void {
  const seqs = values.map(seqOf);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
}

const available = await redisAvailable();

describeWith(available, `Redis at ${REDIS_URL}`)('Scale-out over Redis: two Herald processes, one hub', () => {
  const prefix = `herald-e2e:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`;
  const env = {
    BROKER: 'redis',
    REDIS_KEY_PREFIX: prefix,
    HEARTBEAT_INTERVAL_MS: '300',
    RETRY_MS: '500',
    LOG_LEVEL: 'info',
  };
  /** B reaches Redis through a relay the suite can cut: an outage for B alone. */
  const proxy = new TcpProxy('127.0.0.1', REDIS_PORT);
  let admin: Redis;
  let a: HeraldProcess;
  let b: HeraldProcess;
  const clients: RawSseClient[] = [];
  const open = (herald: HeraldProcess, query: string, headers?: Record<string, string>): RawSseClient => {
    const client = new RawSseClient(`${herald.url}/v1/events?${query}`, { headers });
    clients.push(client);
    return client;
  };
  const ready = async (client: RawSseClient): Promise<RawSseClient> => {
    await client.waitForBody((body) => body.startsWith('retry:'));
    return client;
  };

  beforeAll(async () => {
    admin = new Redis(redisUrl());
    await proxy.open();
    [a, b] = await Promise.all([
      HeraldProcess.start({ ...env, REDIS_URL: redisUrl() }),
      HeraldProcess.start({ ...env, REDIS_URL: redisUrl(proxy.port) }),
    ]);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    // A failed outage test must not leave B cut off for the next one.
    if (!proxy.listening) await proxy.open();
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy.cut();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  it('delivers an event published on A to subscribers on B, byte for byte as A sends it', async () => {
    const onA = await ready(open(a, 'topic=hub'));
    const onB = await ready(open(b, 'topic=hub'));
    const envelopeOnB = await ready(open(b, 'topic=hub&format=envelope'));
    const id = await a.publishOk('hub', { truck: 42, note: 'line 1\nline 2' });
    await Promise.all([onA.waitForEvents(1), onB.waitForEvents(1), envelopeOnB.waitForEvents(1)]);
    // Heartbeats fall where each stream's clock puts them; everything else is the same bytes.
    const withoutHeartbeats = (body: string): string => body.replaceAll(': hb\n\n', '');
    expect(withoutHeartbeats(onB.body)).toBe(withoutHeartbeats(onA.body));
    expect(withoutHeartbeats(onB.body)).toBe(
      `retry: 500\n\nid: ${id}\ndata: {"truck":42,"note":"line 1\\nline 2"}\n\n`,
    );
    const envelope = JSON.parse(envelopeOnB.events[0].data) as { topic: string; ts: number; data: unknown };
    expect(envelope).toMatchObject({ topic: 'hub', type: 'message', data: { truck: 42, note: 'line 1\nline 2' } });
    expect(Math.abs(envelope.ts - Date.now())).toBeLessThan(10_000);
  });

  it('keeps a batch published on A in order on B, across topics', async () => {
    const onB = await ready(open(b, 'topic=batch-1&topic=batch-2'));
    const items = Array.from({ length: 60 }, (_, i) => ({
      topic: ['batch-1', 'batch-2', 'batch-other'][i % 3],
      type: i % 2 ? 'odd' : 'even',
      data: i,
    }));
    const published = await a.publishBatch(items);
    expect(published).toHaveLength(60);
    expectStrictlyIncreasing(published);
    const expected = published.filter((_, i) => items[i].topic !== 'batch-other');
    await onB.waitForEvents(40);
    await sleep(100);
    expect(ids(onB.events)).toEqual(expected);
    expect(onB.events.map((event) => event.event)).toEqual(
      items.filter((item) => item.topic !== 'batch-other').map((item) => item.type),
    );
  });

  it('resumes exactly on A from an id seen on B', async () => {
    const onB = await ready(open(b, 'topic=resume-1&topic=resume-2'));
    const first = [];
    for (let i = 0; i < 5; i++) first.push(await b.publishOk(i % 2 ? 'resume-1' : 'resume-2', `first ${i}`));
    await onB.waitForEvents(5);
    const seenOnB = onB.events[2].id as string;
    onB.close();
    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await (i % 2 ? a : b).publishOk(i % 2 ? 'resume-2' : 'resume-1', i));
    const onA = await ready(open(a, 'topic=resume-1&topic=resume-2', { 'last-event-id': seenOnB }));
    await onA.waitForEvents(7);
    const live = await b.publishOk('resume-1', 'live');
    await onA.waitForEvents(8);
    await sleep(100);
    expect(onA.events.some((event) => event.event === 'reset')).toBe(false);
    expect(ids(onA.events)).toEqual([...first.slice(3), ...missed, live]);
  });

  it('gives 500 concurrent publishes over both instances unique, strictly ordered ids, the same order everywhere', async () => {
    const subscribers = await Promise.all([
      ready(open(a, 'topic=race-1&topic=race-2')),
      ready(open(a, 'topic=race-1&topic=race-2')),
      ready(open(b, 'topic=race-1&topic=race-2')),
      ready(open(b, 'topic=race-1&topic=race-2')),
    ]);
    const published = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).publishOk(i % 3 ? 'race-1' : 'race-2', i)),
    );
    expect(new Set(published).size).toBe(500);
    expect(new Set(published.map((id) => parseEventId(id)?.epoch)).size).toBe(1);
    const inIdOrder = [...published].sort((x, y) => seqOf(x) - seqOf(y));
    await Promise.all(subscribers.map((client) => client.waitForEvents(500, 15_000)));
    await sleep(200);
    for (const client of subscribers) {
      expect(client.events).toHaveLength(500);
      expectStrictlyIncreasing(ids(client.events));
      expect(ids(client.events)).toEqual(inIdOrder);
    }
  });

  it('keeps B’s streams open through an outage, answers 503 meanwhile, then delivers what was missed once', async () => {
    const onB = await ready(open(b, 'topic=outage'));
    const before = await a.publishOk('outage', 'before');
    await onB.waitForEvents(1);
    const lostBefore = b.logged('redis live feed lost').length;
    await proxy.cut();
    await eventually(() => b.logged('redis live feed lost').length > lostBefore, 5_000, 'B to notice');
    const refused = await b.publish('outage', 'refused');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^[0-9]+$/);
    await eventually(async () => (await readiness(b)) === 503, 10_000, 'B not ready', 50);
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await a.publishOk('outage', `during ${i}`));
    const heartbeats = onB.comments.length;
    await sleep(800);
    expect(onB.comments.length).toBeGreaterThan(heartbeats); // Still alive: heartbeats go on.
    expect(onB.closed).toBe(false);
    expect(onB.events).toHaveLength(1);
    await proxy.open();
    await onB.waitForEvents(21, 10_000);
    const after = await b.publishOk('outage', 'after');
    await onB.waitForEvents(22);
    await sleep(100);
    expect(ids(onB.events)).toEqual([before, ...during, after]);
    await eventually(async () => (await readiness(b)) === 200, 10_000, 'B ready again', 50);
    expect(b.logged('redis live feed restored').at(-1)).toMatchObject({ level: 'info', recoveredEvents: 20 });
  });

  it('loses nothing and repeats nothing when every live connection is killed (CLIENT KILL TYPE pubsub)', async () => {
    const subscribers = await Promise.all([ready(open(a, 'topic=kill')), ready(open(b, 'topic=kill'))]);
    const published: string[] = [];
    const restoredBefore = a.logged('redis live feed restored').length + b.logged('redis live feed restored').length;
    const started = Date.now();
    let killed = false;
    while (Date.now() - started < 700) {
      if (!killed && Date.now() - started > 100) {
        await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
        killed = true;
      }
      published.push(await (published.length % 2 ? a : b).publishOk('kill', published.length));
    }
    await Promise.all(subscribers.map((client) => client.waitForEvents(published.length, 10_000)));
    await sleep(200);
    for (const client of subscribers) expect(ids(client.events)).toEqual(published);
    const restored = a.logged('redis live feed restored').length + b.logged('redis live feed restored').length;
    expect(restored - restoredBefore).toBe(2);
  });

  it('starts with Redis unreachable: stays up, not ready, publish 503; connects by itself when Redis appears', async () => {
    const port = await TcpProxy.closedPort();
    const late = new TcpProxy('127.0.0.1', REDIS_PORT);
    late.port = port;
    const c = await HeraldProcess.start({ ...env, REDIS_URL: redisUrl(port) });
    try {
      expect(c.logged('redis unreachable at start')).toHaveLength(1);
      const refused = await c.publish('late', 'refused');
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(await readiness(c)).toBe(503);
      await sleep(1_500);
      expect(c.running).toBe(true);
      await late.open();
      await eventually(async () => (await readiness(c)) === 200, 10_000, 'C ready', 50);
      const onA = await ready(open(a, 'topic=late'));
      const id = await c.publishOk('late', 'hello');
      await onA.waitForEvents(1);
      expect(onA.events[0].id).toBe(id);
    } finally {
      await c.stop();
      await late.cut();
    }
  });

  it('after FLUSHDB, resuming from lost history gets `reset`, and open streams keep receiving', async () => {
    const openOnB = await ready(open(b, 'topic=flush'));
    const before = await a.publishOk('flush', 'before');
    await openOnB.waitForEvents(1);
    await admin.flushdb();
    const after = await a.publishOk('flush', 'after');
    expect(parseEventId(after)?.epoch).not.toBe(parseEventId(before)?.epoch);
    // The open stream hears that history was lost (new epoch) in feed order, then goes on.
    await openOnB.waitForEvents(3);
    expect(openOnB.events[1].event).toBe('reset');
    expect(JSON.parse(openOnB.events[1].data)).toEqual({ reason: 'history-lost', lastEventId: before });
    expect(parseEventId(openOnB.events[1].id)?.epoch).toBe(parseEventId(after)?.epoch);
    expect(openOnB.events[2].id).toBe(after);

    const resumed = await ready(open(a, 'topic=flush', { 'last-event-id': before }));
    const [reset] = await resumed.waitForEvents(1);
    expect(reset.event).toBe('reset');
    expect(JSON.parse(reset.data)).toEqual({ reason: 'history-lost', lastEventId: before });
    expect(reset.id).toBe(after);
    const next = await b.publishOk('flush', 'next');
    await resumed.waitForEvents(2);
    expect(resumed.events[1].id).toBe(next);

    const poll = await request<{ reset: boolean; events: unknown[]; lastEventId: string }>(
      `${b.url}/v1/poll?topic=flush&lastEventId=${before}&timeout=1`,
    );
    expect(poll.body).toEqual({ events: [], reset: true, lastEventId: next });
  });
});
