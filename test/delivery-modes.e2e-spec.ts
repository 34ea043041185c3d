import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';
import { HeraldChild } from './support/herald-child.js';
import {
  ADMIN_TOKEN,
  PUBLISH_TOKEN,
  eventually,
  publishOk,
  request,
  sleep,
  startHerald,
  type RunningHerald,
} from './support/herald.js';
import { RawSseClient } from './support/raw-sse.js';

const available = await redisAvailable();
const brokers: [string, boolean, () => Record<string, string>][] = [
  ['memory', true, () => ({})],
  [
    'redis',
    available,
    () => ({ BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: `herald-modes:${process.pid}:${Math.random()}:` }),
  ],
];

function publishBatch(url: string, items: { topic: string; data: unknown }[]): Promise<unknown> {
  return request(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
    json: items,
  }).then((answer) => {
    if (answer.status !== 202) throw new Error(`publish failed: ${answer.status}`);
    return answer.body;
  });
}

async function conflatedCount(url: string): Promise<number> {
  const text = (await request<string>(`${url}/metrics`)).body;
  return Number(/^herald_conflated_events_total (\d+)$/m.exec(text)?.[1] ?? NaN);
}

for (const [name, on, env] of brokers) {
  describeWith(on, `broker ${name}`)(`since=latest and conflate=1 (${name} broker)`, () => {
    let herald: RunningHerald;
    const clients: RawSseClient[] = [];
    const open = (query: string, headers: Record<string, string> = {}, paused = false): RawSseClient => {
      const client = new RawSseClient(`${herald.url}/v1/events?${query}`, { headers, paused });
      clients.push(client);
      return client;
    };

    beforeAll(async () => {
      herald = await startHerald({ HEARTBEAT_INTERVAL_MS: '60000', ...env() });
    });
    afterEach(() => {
      for (const client of clients.splice(0)) client.socket.destroy();
    });
    afterAll(async () => {
      await herald.close();
    });

    it('since=latest: the newest event of each topic that has one, in id order, then live, none twice', async () => {
      const t = `t${Math.random().toString(36).slice(2)}`;
      await publishOk(herald, `${t}/a`, 'a1');
      const b1 = await publishOk(herald, `${t}/b`, 'b1');
      const a2 = await publishOk(herald, `${t}/a`, 'a2');
      await publishOk(herald, `${t}/c`, 'c1');
      const client = open(`topic=${t}/a&topic=${t}/b&topic=${t}/none&since=latest`);
      await client.waitForEvents(2);
      const a3 = await publishOk(herald, `${t}/a`, 'a3');
      await client.waitForEvents(3);
      await sleep(200);
      expect(client.events.map((event) => [event.id, event.data])).toEqual([
        [b1, 'b1'],
        [a2, 'a2'],
        [a3, 'a3'],
      ]);
    });

    it('a resuming Last-Event-ID wins over since=latest; an unknown one gets reset, then the newest events', async () => {
      const t = `t${Math.random().toString(36).slice(2)}`;
      const a1 = await publishOk(herald, `${t}/a`, 'a1');
      const b1 = await publishOk(herald, `${t}/b`, 'b1');
      const a2 = await publishOk(herald, `${t}/a`, 'a2');
      const resumed = open(`topic=${t}/a&topic=${t}/b&since=latest`, { 'last-event-id': a1 });
      await resumed.waitForEvents(2);
      const lost = open(`topic=${t}/a&topic=${t}/b&since=latest`, { 'last-event-id': 'nope-1' });
      await lost.waitForEvents(3);
      await sleep(200);
      expect(resumed.events.map((event) => event.id)).toEqual([b1, a2]);
      expect(lost.events.map((event) => [event.event, event.id ?? ''])).toEqual([
        ['reset', ''],
        ['message', b1],
        ['message', a2],
      ]);
    });

    it('poll since=latest answers at once with the newest events; its cursor then resumes exactly', async () => {
      const t = `t${Math.random().toString(36).slice(2)}`;
      await publishOk(herald, `${t}/a`, 'a1');
      const a2 = await publishOk(herald, `${t}/a`, 'a2');
      const b1 = await publishOk(herald, `${t}/b`, 'b1');
      const first = await request<{ events: { id: string }[]; lastEventId: string; reset: boolean }>(
        `${herald.url}/v1/poll?topic=${t}/a&topic=${t}/b&since=latest&timeout=5`,
      );
      expect(first.body.events.map((event) => event.id)).toEqual([a2, b1]);
      expect(first.body).toMatchObject({ lastEventId: b1, reset: false });
      const reset = await request<{ events: { id: string }[]; lastEventId: string; reset: boolean }>(
        `${herald.url}/v1/poll?topic=${t}/a&topic=${t}/b&since=latest&timeout=5&lastEventId=nope-1`,
      );
      expect(reset.body).toMatchObject({ reset: true, lastEventId: b1 });
      expect(reset.body.events.map((event) => event.id)).toEqual([a2, b1]);
      const next = request<{ events: { id: string }[] }>(
        `${herald.url}/v1/poll?topic=${t}/a&topic=${t}/b&since=latest&timeout=5&lastEventId=${b1}`,
      );
      await sleep(200);
      const a3 = await publishOk(herald, `${t}/a`, 'a3');
      expect((await next).body.events.map((event) => event.id)).toEqual([a3]);
    });

    it.each([
      ['since=earliest', 'invalid since "earliest": only "latest"'],
      ['conflate=yes', 'invalid conflate "yes": 0 or 1'],
    ])('%s is a 400 naming it', async (query, message) => {
      for (const path of ['events', 'poll']) {
        if (path === 'poll' && query.startsWith('conflate')) continue;
        const answer = await request(`${herald.url}/v1/${path}?topic=a&${query}`);
        expect(answer.status).toBe(400);
        expect(answer.body).toEqual({ statusCode: 400, error: 'Bad Request', message });
      }
    });

    it('conflate=1: a stalled reader is never cut, ends on the last event, ids increasing; a plain one is cut', async () => {
      const topic = `t${Math.random().toString(36).slice(2)}`;
      const before = await conflatedCount(herald.url);
      const conflated = open(`topic=${topic}&conflate=1`, {}, true);
      const plain = open(`topic=${topic}`, {}, true);
      const healthy = open(`topic=${topic}`);
      await healthy.waitForStatus();
      await sleep(300);
      const data = 'x'.repeat(8 * 1024);
      let last = '';
      const total = 100 * 10;
      for (let batch = 0; batch < 100; batch++) {
        const answer = (await publishBatch(
          herald.url,
          Array.from({ length: 10 }, () => ({ topic, data })),
        )) as { ids: string[] };
        last = answer.ids[answer.ids.length - 1];
        await sleep(5);
      }
      await healthy.waitForEvents(total, 20_000);
      conflated.socket.resume();
      plain.socket.resume();
      await eventually(() => conflated.events.at(-1)?.id === last, 20_000, 'the last event on the conflated stream');
      const seqs = conflated.events.map((event) => Number(event.id?.split('-')[1]));
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(conflated.events.length).toBeLessThan(total);
      expect(conflated.closed).toBe(false);
      expect(conflated.body).not.toContain('event: close');
      await plain.waitForBody((body) => body.includes('"reason":"slow-consumer"'), 20_000);
      expect(healthy.events.map((event) => event.id).at(-1)).toBe(last);
      expect(await conflatedCount(herald.url)).toBeGreaterThanOrEqual(before + total - conflated.events.length);
    }, 60_000);
  });
}

describe('conflate=1 under a steady 200 events/s (the real process, 60 s)', () => {
  let herald: HeraldChild;
  afterAll(async () => {
    await herald?.stop();
  });

  it('a reader throttled to ~1 KB/s stays connected, the server holds little for it, and it ends on the last event', async () => {
    herald = await HeraldChild.start({ HEARTBEAT_INTERVAL_MS: '60000' });
    const topic = 'prices/steady';
    const throttled = new RawSseClient(`${herald.url}/v1/events?topic=${topic}&conflate=1`);
    const healthy = new RawSseClient(`${herald.url}/v1/events?topic=${topic}`);
    await throttled.waitForStatus();
    await healthy.waitForStatus();
    // ~1 KB/s: paused whenever it has read more than 1 KB per second since it opened (a read takes one chunk).
    const openedAt = Date.now();
    let received = 0;
    let throttling = true;
    const overBudget = (): boolean => throttling && received > ((Date.now() - openedAt) / 1000) * 1024;
    throttled.socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (overBudget()) throttled.socket.pause();
    });
    const throttle = setInterval(() => {
      if (!overBudget()) throttled.socket.resume();
    }, 50);
    await sleep(500);
    const rssBefore = herald.rss();
    let rssMax = rssBefore;
    let unsentMax = 0;
    const data = { price: 'y'.repeat(1000) };
    let last = '';
    let published = 0;
    const until = Date.now() + 60_000;
    let tick = Date.now();
    while (Date.now() < until) {
      // 10 events every 50 ms: 200 events/s of ~1 KB.
      const answer = (await publishBatch(
        herald.url,
        Array.from({ length: 10 }, () => ({ topic, data })),
      )) as { ids: string[] };
      published += 10;
      last = answer.ids[9];
      if (published % 200 === 0) {
        rssMax = Math.max(rssMax, herald.rss());
        const connections = await request<{ topics: string[]; unsentBytes: number }[]>(
          `${herald.url}/v1/admin/connections`,
          { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
        );
        for (const connection of connections.body) unsentMax = Math.max(unsentMax, connection.unsentBytes);
      }
      tick += 50;
      await sleep(Math.max(0, tick - Date.now()));
    }
    const receivedDuringBurst = throttled.events.length;
    expect(throttled.closed).toBe(false);
    throttling = false;
    clearInterval(throttle);
    throttled.socket.resume();
    await eventually(() => throttled.events.at(-1)?.id === last, 30_000, 'the last event on the throttled stream');
    await healthy.waitForEvents(published, 30_000);
    const conflated = await conflatedCount(herald.url);
    console.log(
      JSON.stringify({
        published,
        throttledReceivedDuringBurst: receivedDuringBurst,
        throttledReceivedTotal: throttled.events.length,
        throttledBytesDuringBurst: received,
        conflated,
        unsentMaxBytes: unsentMax,
        rssBeforeMb: +(rssBefore / 2 ** 20).toFixed(1),
        rssMaxMb: +(rssMax / 2 ** 20).toFixed(1),
      }),
    );
    expect(throttled.closed).toBe(false);
    expect(throttled.body).not.toContain('event: close');
    expect(healthy.events.map((event) => event.id)).toHaveLength(published);
    expect(new Set(healthy.events.map((event) => event.id)).size).toBe(published);
    const seqs = throttled.events.map((event) => Number(event.id?.split('-')[1]));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    // Behind, it holds one event plus what the socket had: far below the 1 MiB that would cut a plain stream.
    expect(unsentMax).toBeLessThan(512 * 1024);
    expect(rssMax - rssBefore).toBeLessThan(64 * 2 ** 20);
    expect(conflated).toBeGreaterThan(published / 2);
    throttled.socket.destroy();
    healthy.socket.destroy();
  }, 150_000);
});
