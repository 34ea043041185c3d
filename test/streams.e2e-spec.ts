import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import { ConnectionRegistry } from '../src/streams/connection-registry.js';
import { RawSseClient } from './support/raw-sse.js';
import {
  ADMIN_TOKEN,
  eventually,
  publish,
  publishOk,
  request,
  sleep,
  startHerald,
  type RunningHerald,
  PUBLISH_TOKEN,
} from './support/herald.js';

describe('Streams: subscribe, publish, resume (memory broker)', () => {
  let herald: RunningHerald;
  const clients: RawSseClient[] = [];
  const open = (path: string, headers?: Record<string, string>): RawSseClient => {
    const client = new RawSseClient(`${herald.url}${path}`, { headers });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    herald = await startHerald({ RETRY_MS: '1500', HEARTBEAT_INTERVAL_MS: '60000', MAX_EVENT_BYTES: '1024' });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(() => herald.close());

  it('answers with the SSE headers and `retry:` as the very first bytes', async () => {
    const client = open('/v1/events?topic=hdr');
    await client.waitForBody((body) => body.length > 0);
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream(; ?charset=utf-8)?$/i);
    expect(client.headers['cache-control']).toMatch(/no-cache/);
    expect(client.headers['cache-control']).toMatch(/no-transform/);
    expect(client.headers['connection']).toMatch(/keep-alive/i);
    expect(client.headers['x-accel-buffering']).toBe('no');
    expect(client.body).toBe('retry: 1500\n\n');
  });

  it('delivers frames byte-exact: id, event, one data line per payload line', async () => {
    const client = open('/v1/events?topic=bytes');
    await client.waitForBody((body) => body.startsWith('retry:'));
    const id1 = await publishOk(herald, 'bytes', 'line one\nline two\r\nline three\rend');
    const id2 = await publishOk(herald, 'bytes', { truck: 42, pos: [1.5, -2] }, 'position');
    const id3 = await publishOk(herald, 'bytes', '');
    await client.waitForEvents(3);
    expect(client.body).toBe(
      'retry: 1500\n\n' +
        `id: ${id1}\ndata: line one\ndata: line two\ndata: line three\ndata: end\n\n` +
        `id: ${id2}\nevent: position\ndata: {"truck":42,"pos":[1.5,-2]}\n\n` +
        `id: ${id3}\ndata: \n\n`,
    );
  });

  it('sends JSON payloads as JSON text and the envelope format when asked', async () => {
    const client = open('/v1/events?topic=env&format=envelope');
    await client.waitForBody((body) => body.startsWith('retry:'));
    const before = Date.now();
    const id = await publishOk(herald, 'env', { a: [1, 'two', null] }, 'kind.x');
    const [event] = await client.waitForEvents(1);
    expect(event).toMatchObject({ id, event: 'kind.x' });
    const envelope = JSON.parse(event.data);
    expect(envelope).toMatchObject({ topic: 'env', type: 'kind.x', data: { a: [1, 'two', null] } });
    expect(envelope.ts).toBeGreaterThanOrEqual(before - 5);
    expect(envelope.ts).toBeLessThanOrEqual(Date.now());
  });

  it('resumes from the middle of a two-topic history exactly (header and query forms)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await publishOk(herald, i % 2 === 0 ? 'r/a' : 'r/b', `e${i}`));
    await publishOk(herald, 'r/other', 'not subscribed');
    const viaHeader = open('/v1/events?topic=r/a&topic=r/b', { 'Last-Event-ID': ids[4] });
    const viaQuery = open(`/v1/events?topic=r/a&topic=r/b&lastEventId=${ids[4]}`);
    for (const client of [viaHeader, viaQuery]) {
      const events = await client.waitForEvents(5);
      await sleep(50);
      expect(client.events.map((e) => e.id)).toEqual(ids.slice(5));
      expect(events.map((e) => e.data)).toEqual(['e5', 'e6', 'e7', 'e8', 'e9']);
    }
    const live = await publishOk(herald, 'r/b', 'live');
    await viaHeader.waitForEvents(6);
    expect(viaHeader.events[5].id).toBe(live);
  });

  it('the Last-Event-ID header wins over the query', async () => {
    const a = await publishOk(herald, 'win', 1);
    const b = await publishOk(herald, 'win', 2);
    const client = open(`/v1/events?topic=win&lastEventId=${a}`, { 'Last-Event-ID': b });
    const c = await publishOk(herald, 'win', 3);
    await client.waitForEvents(1);
    await sleep(50);
    expect(client.events.map((e) => e.id)).toEqual([c]);
  });

  it('a burst of 500 concurrent publishes racing a subscribe is neither lost nor duplicated', async () => {
    const start = await publishOk(herald, 'race', 'start');
    const client = open('/v1/events?topic=race', { 'Last-Event-ID': start });
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => publish(herald, 'race', { data: i })));
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const published = answers.map((a) => a.body.id);
    await client.waitForEvents(500, 10_000);
    await sleep(100);
    const received = client.events.map((e) => e.id as string);
    expect(received).toHaveLength(500);
    expect(new Set(received).size).toBe(500);
    const seq = (id: string) => Number(id.split('-')[1]);
    expect(received.map(seq)).toEqual([...received.map(seq)].sort((x, y) => x - y));
    expect([...received].sort()).toEqual([...published].sort());
  });

  it('an unknown or foreign id gets one reset frame, then live events', async () => {
    const client = open('/v1/events?topic=lost', { 'Last-Event-ID': 'zz0000-99' });
    await client.waitForEvents(1);
    const [reset] = client.events;
    expect(reset.event).toBe('reset');
    expect(JSON.parse(reset.data)).toEqual({ reason: 'history-lost', lastEventId: 'zz0000-99' });
    const id = await publishOk(herald, 'lost', 'after');
    await client.waitForEvents(2);
    expect(client.events[1]).toMatchObject({ id, data: 'after' });
    expect(client.events.filter((e) => e.event === 'reset')).toHaveLength(1);
  });

  it('a garbage id also resets (never a 400, never an error)', async () => {
    const client = open(`/v1/events?topic=lost2&lastEventId=${encodeURIComponent('<script>')}`);
    await client.waitForEvents(1);
    expect(client.status).toBe(200);
    expect(client.events[0].event).toBe('reset');
  });

  it.each([
    ['no topic', '/v1/events', /at least one "topic"/],
    ['bad topic (CRLF)', '/v1/events?topic=a%0D%0Aevent:%20x', /invalid topic/],
    ['bad topic (space)', '/v1/events?topic=a%20b', /invalid topic "a b"/],
    [
      'too many topics',
      `/v1/events?${Array.from({ length: 65 }, (_, i) => `topic=t${i}`).join('&')}`,
      /too many topics/,
    ],
    ['bad format', '/v1/events?topic=a&format=xml', /invalid format "xml"/],
  ])('400 with a JSON error: %s', async (_name, path, message) => {
    const answer = await request<{ statusCode: number; error: string; message: string }>(`${herald.url}${path}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(answer.body.message).toMatch(message);
  });

  it('406 when Accept allows no event stream', async () => {
    const answer = await request(`${herald.url}/v1/events?topic=a`, { headers: { accept: 'application/json' } });
    expect(answer.status).toBe(406);
    const ok = open('/v1/events?topic=a', { accept: 'text/html, */*;q=0.1' });
    expect(await ok.waitForStatus()).toBe(200);
  });

  it('header-injection attempts are 400 and never reach a stream', async () => {
    const client = open('/v1/events?topic=inj');
    await client.waitForBody((body) => body.startsWith('retry:'));
    const badType = await publish(herald, 'inj', { type: 'x\nevent: close', data: 'evil' });
    const badTopic = await request(`${herald.url}/v1/topics/${encodeURIComponent('inj\r\nid: 1')}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
      json: { data: 'evil' },
    });
    const badBatch = await request(`${herald.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
      json: [
        { topic: 'inj', type: 'ok', data: 1 },
        { topic: 'inj', type: 'a\rb', data: 2 },
      ],
    });
    expect([badType.status, badTopic.status, badBatch.status]).toEqual([400, 400, 400]);
    expect(JSON.stringify(badType.body)).toMatch(/type must be/);
    const id = await publishOk(herald, 'inj', 'clean');
    await client.waitForEvents(1);
    await sleep(50);
    expect(client.events).toEqual([{ id, event: 'message', data: 'clean' }]);
    expect(client.body).not.toContain('evil');
  });

  it('publish errors: 401, 413, 415, 400 — exactly', async () => {
    const url = `${herald.url}/v1/topics/errs/events`;
    const auth = { authorization: `Bearer ${PUBLISH_TOKEN}` };
    expect((await request(url, { method: 'POST', json: { data: 1 } })).status).toBe(401);
    expect(
      (await request(url, { method: 'POST', headers: { authorization: 'Bearer nope' }, json: { data: 1 } })).status,
    ).toBe(401);
    const big = await request<{ message: string }>(url, {
      method: 'POST',
      headers: auth,
      json: { data: 'x'.repeat(2000) },
    });
    expect(big.status).toBe(413);
    expect(big.body.message).toMatch(/MAX_EVENT_BYTES \(1024\)/);
    const huge = await request(url, { method: 'POST', headers: auth, json: { data: 'x'.repeat(9 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    const text = await request(url, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);
    const malformed = await request(url, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"data":',
    });
    expect(malformed.status).toBe(400);
    expect((await request(url, { method: 'POST', headers: auth, json: { type: 'x' } })).status).toBe(400);
    expect((await request(url, { method: 'POST', headers: auth, json: { data: 1, id: 'mine' } })).status).toBe(400);
    // The admin token publishes too.
    expect(
      (await request(url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json: { data: 1 } }))
        .status,
    ).toBe(202);
  });

  it('batch publish: all or none, ids in order, 1–1000 items', async () => {
    const client = open('/v1/events?topic=b1&topic=b2');
    await client.waitForBody((body) => body.startsWith('retry:'));
    const url = `${herald.url}/v1/events`;
    const auth = { authorization: `Bearer ${PUBLISH_TOKEN}` };
    const ok = await request<{ ids: string[] }>(url, {
      method: 'POST',
      headers: auth,
      json: [
        { topic: 'b1', data: 1 },
        { topic: 'b2', type: 'x', data: { two: 2 } },
        { topic: 'b1', data: 'three' },
      ],
    });
    expect(ok.status).toBe(202);
    expect(ok.body.ids).toHaveLength(3);
    await client.waitForEvents(3);
    expect(client.events.map((e) => e.id)).toEqual(ok.body.ids);
    const mixed = await request(url, {
      method: 'POST',
      headers: auth,
      json: [
        { topic: 'b1', data: 4 },
        { topic: 'b 2', data: 5 },
      ],
    });
    expect(mixed.status).toBe(400);
    const tooBig = await request(url, {
      method: 'POST',
      headers: auth,
      json: [
        { topic: 'b1', data: 4 },
        { topic: 'b1', data: 'x'.repeat(2000) },
      ],
    });
    expect(tooBig.status).toBe(413);
    const empty = await request(url, { method: 'POST', headers: auth, json: [] });
    expect(empty.status).toBe(400);
    const many = await request(url, {
      method: 'POST',
      headers: auth,
      json: Array.from({ length: 1001 }, () => ({ topic: 'b1', data: 0 })),
    });
    expect(many.status).toBe(400);
    await sleep(100);
    expect(client.events).toHaveLength(3);
  });

  it('publishes to a topic given as one URL-encoded path segment', async () => {
    const client = open('/v1/events?topic=trucks/42');
    await client.waitForBody((body) => body.startsWith('retry:'));
    const answer = await request<{ id: string }>(`${herald.url}/v1/topics/trucks%2F42/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
      json: { data: 'here' },
    });
    expect(answer.status).toBe(202);
    await client.waitForEvents(1);
    expect(client.events[0].id).toBe(answer.body.id);
  });

  it('an accepted event is in history before 202', async () => {
    const before = await publishOk(herald, 'hist', 'a');
    const after = await publishOk(herald, 'hist', 'b');
    const poll = await request<{ events: { id: string }[] }>(
      `${herald.url}/v1/poll?topic=hist&lastEventId=${before}&timeout=1`,
    );
    expect(poll.body.events.map((e) => e.id)).toEqual([after]);
  });

  it('CORS: preflight and stream answers carry the allowed origin', async () => {
    const preflight = await fetch(`${herald.url}/v1/events?topic=a`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('last-event-id');
    const client = open('/v1/events?topic=a', { origin: 'https://app.example' });
    await client.waitForStatus();
    expect(client.headers['access-control-allow-origin']).toBe('*');
  });

  it('the eventsource client receives, and resumes by itself after the server ends the stream', async () => {
    const received: string[] = [];
    const source = new EventSource(`${herald.url}/v1/events?topic=es`);
    source.addEventListener('message', (event) => received.push(event.data));
    await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
    await publishOk(herald, 'es', 'one');
    await eventually(() => received.length === 1, 5_000, 'first event');
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const [connection] = registry.list().filter((c) => c.topics.includes('es'));
    registry.get(connection.id)?.close('kicked');
    // While the client is away (retry: 1500 ms), events keep coming; it resumes with its Last-Event-ID.
    await publishOk(herald, 'es', 'two');
    await publishOk(herald, 'es', 'three');
    await eventually(() => received.length === 3, 8_000, 'resumed events');
    await publishOk(herald, 'es', 'four');
    await eventually(() => received.length === 4, 5_000, 'live after resume');
    source.close();
    expect(received).toEqual(['one', 'two', 'three', 'four']);
  });
});

describe('Streams: heartbeats and clean-up', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald({ HEARTBEAT_INTERVAL_MS: '200' });
  });
  afterAll(() => herald.close());

  it('sends `: hb` about every 200 ms when nothing else is sent', async () => {
    const client = new RawSseClient(`${herald.url}/v1/events?topic=quiet`);
    await client.waitForBody((body) => body.startsWith('retry:'));
    const start = Date.now();
    await eventually(() => client.comments.length >= 4, 3_000, 'four heartbeats');
    const elapsed = Date.now() - start;
    client.close();
    expect(client.comments.slice(0, 4)).toEqual(['hb', 'hb', 'hb', 'hb']);
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(2_000);
    expect(client.body).toMatch(/^retry: 3000\n\n(: hb\n\n)+$/);
  });

  it('100 connect/disconnect cycles leave no subscription, slot, listener or timer behind', async () => {
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    // Warm up once so lazily created timers exist before the baseline.
    const warm = new RawSseClient(`${herald.url}/v1/events?topic=churn`);
    await warm.waitForBody((body) => body.startsWith('retry:'));
    warm.close();
    await eventually(() => registry.active === 0, 5_000, 'warm-up released');
    await sleep(300);
    const baseline = timers();
    for (let i = 0; i < 100; i++) {
      const client = new RawSseClient(`${herald.url}/v1/events?topic=churn&topic=c${i % 7}`);
      if (i % 2 === 0) await client.waitForBody((body) => body.startsWith('retry:'));
      client.close();
    }
    await eventually(() => registry.active === 0 && registry.open === 0, 5_000, 'all released');
    expect(registry.topIps(20)).toEqual({});
    expect(registry.counters.opened).toBeGreaterThanOrEqual(50);
    await publishOk(herald, 'churn', 'nobody listens');
    // Nest's per-request probe interval is cleared on close; heartbeats come from one shared ticker.
    await eventually(() => timers() <= baseline, 6_000, `timers back to ${baseline}`);
  });
});
