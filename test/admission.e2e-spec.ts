import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import { connect } from 'node:net';
import { signJwt } from '../src/auth/jwt.js';
import { ConnectionRegistry } from '../src/streams/connection-registry.js';
import { HeraldChild } from './support/herald-child.js';
import { RawSseClient } from './support/raw-sse.js';
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

const SECRET = 'a-jwt-secret-that-is-at-least-32-chars';
const ready = (client: RawSseClient) => client.waitForBody((body) => body.startsWith('retry:'));

interface Refusal {
  statusCode: number;
  error: string;
  message: string;
}

function expectRefusal(client: RawSseClient, status: number, seconds: string): void {
  expect(client.status).toBe(status);
  expect(client.headers['retry-after']).toBe(seconds);
  expect(Number(client.headers['retry-after'])).toBeGreaterThan(0);
  expect(client.headers['content-type']).toMatch(/application\/json/);
  const body = client.json() as Refusal;
  expect(body.statusCode).toBe(status);
  expect(typeof body.error).toBe('string');
  expect(typeof body.message).toBe('string');
}

describe('Admission: capacity, per-IP and per-tenant limits at their exact boundaries', () => {
  let herald: RunningHerald;
  const clients: RawSseClient[] = [];
  const open = (path: string, options: ConstructorParameters<typeof RawSseClient>[1] = {}) => {
    const client = new RawSseClient(`${herald.url}${path}`, options);
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await eventually(() => herald.get<ConnectionRegistry>(ConnectionRegistry).active === 0, 5_000, 'slots released');
  });
  afterAll(() => herald?.close());

  it('capacity: 503 + Retry-After exactly at CAPACITY_THRESHOLD × MAX_CONNECTIONS', async () => {
    herald = await startHerald({ MAX_CONNECTIONS: '10', CAPACITY_THRESHOLD: '0.5', RETRY_AFTER_SECONDS: '7' });
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const admitted = Array.from({ length: 5 }, () => open('/v1/events?topic=cap'));
    await Promise.all(admitted.map(ready));
    const refused = open('/v1/events?topic=cap');
    await refused.waitForEnd();
    expectRefusal(refused, 503, '7');
    expect(registry.open).toBe(5);
    expect(registry.counters.refused.capacity).toBe(1);
    expect(registry.counters.opened).toBe(5);
    // One leaves: exactly one more gets in.
    admitted[0].close();
    await eventually(() => registry.active === 4, 5_000, 'slot freed');
    const again = open('/v1/events?topic=cap');
    await ready(again);
    expect(again.status).toBe(200);
    await herald.close();
  });

  it('per IP: 429 at MAX_CONNECTIONS_PER_IP, counted per source address', async () => {
    herald = await startHerald({ MAX_CONNECTIONS_PER_IP: '3', RETRY_AFTER_SECONDS: '11' });
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const fromTwo = Array.from({ length: 3 }, () => open('/v1/events?topic=ip', { localAddress: '127.0.0.2' }));
    await Promise.all(fromTwo.map(ready));
    const fourth = open('/v1/events?topic=ip', { localAddress: '127.0.0.2' });
    await fourth.waitForEnd();
    expectRefusal(fourth, 429, '11');
    const fromThree = Array.from({ length: 3 }, () => open('/v1/events?topic=ip', { localAddress: '127.0.0.3' }));
    await Promise.all(fromThree.map(ready));
    expect(fromThree.every((client) => client.status === 200)).toBe(true);
    expect(registry.topIps(20)).toEqual({ '127.0.0.2': 3, '127.0.0.3': 3 });
    expect(registry.counters.refused['per-ip']).toBe(1);
    await herald.close();
  });

  it('TRUST_PROXY takes the client IP from X-Forwarded-For', async () => {
    herald = await startHerald({ MAX_CONNECTIONS_PER_IP: '1', TRUST_PROXY: 'true' });
    const a = open('/v1/events?topic=xff', { headers: { 'x-forwarded-for': '203.0.113.5, 10.0.0.1' } });
    await ready(a);
    const b = open('/v1/events?topic=xff', { headers: { 'x-forwarded-for': '203.0.113.6' } });
    await ready(b);
    const c = open('/v1/events?topic=xff', { headers: { 'x-forwarded-for': '203.0.113.5' } });
    await c.waitForEnd();
    expect(c.status).toBe(429);
    expect(herald.get<ConnectionRegistry>(ConnectionRegistry).topIps(5)).toEqual({
      '203.0.113.5': 1,
      '203.0.113.6': 1,
    });
    await herald.close();
  });

  it('per tenant: 429 at MAX_CONNECTIONS_PER_TENANT; tokens without a tenant do not count', async () => {
    herald = await startHerald({ JWT_SECRET: SECRET, MAX_CONNECTIONS_PER_TENANT: '2', RETRY_AFTER_SECONDS: '5' });
    const acme = signJwt({ topics: ['t'], tenant: 'acme' }, SECRET);
    const globex = signJwt({ topics: ['t'], tenant: 'globex' }, SECRET);
    const none = signJwt({ topics: ['t'] }, SECRET);
    const acmeOk = [open(`/v1/events?topic=t&access_token=${acme}`), open(`/v1/events?topic=t&access_token=${acme}`)];
    await Promise.all(acmeOk.map(ready));
    const acmeThird = open(`/v1/events?topic=t&access_token=${acme}`);
    await acmeThird.waitForEnd();
    expectRefusal(acmeThird, 429, '5');
    const others = [
      open(`/v1/events?topic=t&access_token=${globex}`),
      ...Array.from({ length: 3 }, () => open(`/v1/events?topic=t&access_token=${none}`)),
    ];
    await Promise.all(others.map(ready));
    expect(others.every((client) => client.status === 200)).toBe(true);
    expect(herald.get<ConnectionRegistry>(ConnectionRegistry).counters.refused['per-tenant']).toBe(1);
    await herald.close();
  });
});

describe('Admission under races and churn', () => {
  let herald: RunningHerald;
  afterAll(() => herald?.close());

  it('1,000 simultaneous connects against a limit of 100 admit exactly 100', async () => {
    herald = await startHerald({ MAX_CONNECTIONS: '100', CAPACITY_THRESHOLD: '1', MAX_CONNECTIONS_PER_IP: '100000' });
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const clients = Array.from(
      { length: 1_000 },
      (_, i) => new RawSseClient(`${herald.url}/v1/events?topic=storm`, { localAddress: `127.0.0.${2 + (i % 8)}` }),
    );
    try {
      // Past the listen backlog, connects wait for SYN retries: give a loaded machine time.
      await Promise.all(clients.map((client) => client.waitForStatus(60_000)));
      const statuses = clients.map((client) => client.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(100);
      expect(statuses.filter((s) => s === 503)).toHaveLength(900);
      expect(registry.active).toBe(100);
      expect(registry.counters.refused.capacity).toBe(900);
    } finally {
      for (const client of clients) client.close();
    }
    await eventually(() => registry.active === 0 && registry.open === 0, 10_000, 'all released');
    expect(registry.topIps(20)).toEqual({});
    await herald.close();
  }, 120_000);

  it('10,000 connect/abort cycles leave no slot behind (no drift)', async () => {
    herald = await startHerald({ MAX_CONNECTIONS: '100000', MAX_CONNECTIONS_PER_IP: '100000' });
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const port = herald.port;
    const cycle = (i: number) =>
      new Promise<void>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${2 + (i % 16)}` });
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.write(`GET /v1/events?topic=churn${i % 13} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n`);
        // Abort at varied moments: at once, right after the request, or once the stream has started.
        if (i % 3 === 0) socket.destroy();
        else if (i % 3 === 1) setImmediate(() => socket.destroy());
        else socket.once('data', () => socket.destroy());
      });
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => cycle(batch * 200 + j)));
    }
    await eventually(() => registry.active === 0 && registry.open === 0, 10_000, 'slots back to zero');
    expect(registry.topIps(5)).toEqual({});
    expect(registry.counters.opened).toBeGreaterThan(3_000);
    // The ledger balances: every opened stream was closed by the client.
    expect(registry.counters.closed.client).toBe(registry.counters.opened);
    await herald.close();
  }, 120_000);
});

describe('Subscriber and publisher auth (JWT_SECRET set)', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald({ JWT_SECRET: SECRET, RETRY_MS: '100' });
  });
  afterAll(() => herald.close());

  const token = (claims: Record<string, unknown>, secret = SECRET) => signJwt(claims, secret);
  const inAMinute = () => Math.floor(Date.now() / 1000) + 60;

  it.each([
    ['header', (t: string) => ({ path: '/v1/events?topic=trucks/1', headers: { authorization: `Bearer ${t}` } })],
    ['query', (t: string) => ({ path: `/v1/events?topic=trucks/1&access_token=${t}`, headers: {} })],
    ['cookie', (t: string) => ({ path: '/v1/events?topic=trucks/1', headers: { cookie: `a=b; herald_token=${t}` } })],
  ])('a valid token in the %s form is admitted', async (_form, build) => {
    const { path, headers } = build(token({ topics: ['trucks/*'], exp: inAMinute() }));
    const client = new RawSseClient(`${herald.url}${path}`, { headers });
    await ready(client);
    expect(client.status).toBe(200);
    client.close();
  });

  it.each([
    ['missing', 401, undefined, /required/],
    ['garbage', 401, 'not.a.jwt', /invalid subscriber token/],
    [
      'wrong secret',
      401,
      token({ topics: ['trucks/*'] }, 'another-secret-that-is-32-characters!!'),
      /invalid signature/,
    ],
    ['expired', 401, token({ topics: ['trucks/*'], exp: Math.floor(Date.now() / 1000) - 1 }), /expired/],
    ['alg none', 401, 'eyJhbGciOiJub25lIn0.eyJ0b3BpY3MiOlsiKiJdfQ.', /invalid/],
    ['no topics claim', 403, token({ tenant: 'x' }), /not allowed/],
    ['wrong topic', 403, token({ topics: ['boats/*'] }), /"trucks\/1" is not allowed/],
    ['wildcard too deep', 403, token({ topics: ['trucks'] }), /not allowed/],
  ])('%s → %i', async (_name, status, jwt, message) => {
    const headers: Record<string, string> = jwt === undefined ? {} : { authorization: `Bearer ${jwt}` };
    const answer = await request<Refusal>(`${herald.url}/v1/events?topic=trucks/1`, { headers });
    expect(answer.status).toBe(status);
    expect(answer.body.message).toMatch(message);
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    expect(registry.active).toBe(0);
  });

  it('a `*` segment matches exactly one segment', async () => {
    const jwt = token({ topics: ['fleet/*/pos'] });
    const ok = await fetch(`${herald.url}/v1/poll?topic=fleet/7/pos&timeout=1&access_token=${jwt}`);
    expect(ok.status).toBe(200);
    const deeper = await fetch(`${herald.url}/v1/poll?topic=fleet/7/x/pos&timeout=1&access_token=${jwt}`);
    expect(deeper.status).toBe(403);
  });

  it('a stream is closed with `token-expired` at exp and receives nothing after', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const client = new RawSseClient(`${herald.url}/v1/events?topic=exp`, {
      headers: { authorization: `Bearer ${token({ topics: ['exp'], exp })}` },
    });
    await ready(client);
    await publishOk(herald, 'exp', 'before');
    await client.waitForEvents(1);
    await client.waitForEnd(4_000);
    const closedAt = Date.now();
    expect(closedAt).toBeGreaterThanOrEqual(exp * 1000 - 50);
    expect(closedAt).toBeLessThan(exp * 1000 + 1_000);
    const close = client.events.find((event) => event.event === 'close');
    expect(JSON.parse(close?.data ?? '{}')).toEqual({ reason: 'token-expired' });
    await publishOk(herald, 'exp', 'after');
    await sleep(100);
    expect(client.events.map((event) => event.data)).not.toContain('after');
    expect(herald.get<ConnectionRegistry>(ConnectionRegistry).counters.closed['token-expired']).toBe(1);
    client.close();
  });

  it('publisher JWT: the `publish` claim lists the topics it may publish to', async () => {
    const jwt = token({ publish: ['trucks/*'] });
    const url = (topic: string) => `${herald.url}/v1/topics/${encodeURIComponent(topic)}/events`;
    const auth = { authorization: `Bearer ${jwt}` };
    expect((await request(url('trucks/9'), { method: 'POST', headers: auth, json: { data: 1 } })).status).toBe(202);
    expect((await request(url('boats/9'), { method: 'POST', headers: auth, json: { data: 1 } })).status).toBe(403);
    const batch = await request(`${herald.url}/v1/events`, {
      method: 'POST',
      headers: auth,
      json: [
        { topic: 'trucks/1', data: 1 },
        { topic: 'boats/1', data: 2 },
      ],
    });
    expect(batch.status).toBe(403);
    const subscriberOnly = token({ topics: ['*'] });
    expect(
      (
        await request(url('trucks/9'), {
          method: 'POST',
          headers: { authorization: `Bearer ${subscriberOnly}` },
          json: { data: 1 },
        })
      ).status,
    ).toBe(403);
    const forged = token({ publish: ['*'] }, 'another-secret-that-is-32-characters!!');
    expect(
      (
        await request(url('trucks/9'), {
          method: 'POST',
          headers: { authorization: `Bearer ${forged}` },
          json: { data: 1 },
        })
      ).status,
    ).toBe(401);
  });
});

describe('Publisher rate limit', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald({ PUBLISH_RATE_LIMIT: '5', PUBLISH_RATE_WINDOW_MS: '2000' });
  });
  afterAll(() => herald.close());

  it('429 + Retry-After past the limit, per credential', async () => {
    const send = (token: string) =>
      request<Refusal>(`${herald.url}/v1/topics/rl/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        json: { data: 1 },
      });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(PUBLISH_TOKEN)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    const limited = await send(PUBLISH_TOKEN);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    // Another credential has its own budget.
    expect((await send(ADMIN_TOKEN)).status).toBe(202);
  });
});

describe('Kick and max-age: the client sees the reason and resumes without loss', () => {
  let herald: RunningHerald;
  afterAll(() => herald?.close());

  /** Publishes `count` events on `topic` every `everyMs`, returning their ids. */
  async function trickle(topic: string, count: number, everyMs: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(await publishOk(herald, topic, `e${i}`));
      await sleep(everyMs);
    }
    return ids;
  }

  it('kick: `event: close` reason kicked; EventSource resumes with Last-Event-ID, nothing lost or doubled', async () => {
    herald = await startHerald({ RETRY_MS: '50' });
    const registry = herald.get<ConnectionRegistry>(ConnectionRegistry);
    const received: string[] = [];
    const closes: string[] = [];
    const source = new EventSource(`${herald.url}/v1/events?topic=kick`);
    source.addEventListener('message', (event) => received.push(event.lastEventId));
    source.addEventListener('close', (event) => closes.push(JSON.parse(event.data).reason));
    await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
    const publishing = trickle('kick', 40, 10);
    let kicks = 0;
    while (kicks < 3) {
      await sleep(80);
      const [connection] = registry.list();
      if (!connection) continue;
      const answer = await request(`${herald.url}/v1/admin/connections/${connection.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      if (answer.status === 204) kicks++;
    }
    const ids = await publishing;
    await eventually(() => received.length >= ids.length, 5_000, 'all events');
    await sleep(100);
    source.close();
    expect(closes).toEqual(['kicked', 'kicked', 'kicked']);
    expect(received).toEqual(ids);
    expect(registry.counters.closed.kicked).toBe(3);
    expect(
      (
        await request(`${herald.url}/v1/admin/connections/nope`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).status,
    ).toBe(404);
    expect((await request(`${herald.url}/v1/admin/connections`)).status).toBe(401);
    await herald.close();
  });

  it('max-age: closed with reason max-age within ±10 % jitter; resume loses nothing', async () => {
    herald = await startHerald({ RETRY_MS: '50', MAX_CONNECTION_AGE_MS: '1000', HEARTBEAT_INTERVAL_MS: '100' });
    const lifetimes: number[] = [];
    const clients = Array.from({ length: 8 }, () => new RawSseClient(`${herald.url}/v1/events?topic=age`));
    const started = Date.now();
    await Promise.all(clients.map(ready));
    await Promise.all(
      clients.map((client) => client.waitForEnd(3_000).then(() => lifetimes.push(Date.now() - started))),
    );
    for (const client of clients) {
      expect(JSON.parse(client.events.find((e) => e.event === 'close')?.data ?? '{}')).toEqual({ reason: 'max-age' });
      client.close();
    }
    for (const lifetime of lifetimes) {
      expect(lifetime).toBeGreaterThanOrEqual(850);
      expect(lifetime).toBeLessThan(1_400);
    }
    expect(new Set(lifetimes).size).toBeGreaterThan(1);

    const received: string[] = [];
    const source = new EventSource(`${herald.url}/v1/events?topic=age2`);
    source.addEventListener('message', (event) => received.push(event.lastEventId));
    await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
    const ids = await trickle('age2', 60, 40);
    await eventually(() => received.length >= ids.length, 5_000, 'all events');
    source.close();
    expect(received).toEqual(ids);
    expect(herald.get<ConnectionRegistry>(ConnectionRegistry).counters.closed['max-age']).toBeGreaterThanOrEqual(9);
  });
});

describe('Slow consumers (a separate server process, so its memory is measured alone)', () => {
  let server: HeraldChild;
  beforeAll(async () => {
    // The young generation's size is V8's choice and grows by Node major (24's is several times 20's): fixed
    // here, so the peak shows what Herald retains for the stalled client, not when garbage was collected.
    server = await HeraldChild.start({ HISTORY_SIZE: '5', NODE_OPTIONS: '--max-semi-space-size=8' });
  });
  afterAll(() => server?.stop());

  it('a client that never reads is cut past MAX_QUEUE_BYTES while 20 MB flow; RSS stays bounded; a healthy subscriber gets every event in order', async () => {
    const stalled = new RawSseClient(`${server.url}/v1/events?topic=flood`, { paused: true });
    const healthy = new RawSseClient(`${server.url}/v1/events?topic=flood`);
    await ready(healthy);
    await sleep(200);
    const baseline = server.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, server.rss())), 25);
    const payload = 'x'.repeat(60 * 1024);
    const ids: string[] = [];
    try {
      for (let batch = 0; batch < 18; batch++) {
        const answer = await request<{ ids: string[] }>(`${server.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
          json: Array.from({ length: 20 }, () => ({ topic: 'flood', data: payload })),
        });
        expect(answer.status).toBe(202);
        ids.push(...answer.body.ids);
        // The healthy subscriber reads what it is sent (on a loaded machine, too): the stalled one never does.
        await healthy.waitForEvents(ids.length, 30_000);
      }
    } finally {
      clearInterval(sampler);
    }
    expect(ids.length * payload.length).toBeGreaterThan(20 * 1024 * 1024);
    expect(healthy.events.map((event) => event.id)).toEqual(ids);
    // A paused socket cannot notice its peer left: ask the server, then read to see the end.
    await server.waitForLog('slow consumer disconnected');
    stalled.socket.resume();
    await stalled.waitForClose(10_000);
    expect(stalled.events.length).toBeLessThan(ids.length);
    expect(peak - baseline).toBeLessThan(50 * 1024 * 1024);
    process.stdout.write(
      `slow-consumer RSS growth: ${((peak - baseline) / 1048576).toFixed(1)} MB over ${(baseline / 1048576).toFixed(1)} MB\n`,
    );
    const metrics = await request<Array<{ id: string }>>(`${server.url}/v1/admin/connections`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(metrics.body).toHaveLength(1);
    expect(server.logged('slow consumer disconnected')).toHaveLength(1);
    healthy.close();
  }, 60_000);
});
