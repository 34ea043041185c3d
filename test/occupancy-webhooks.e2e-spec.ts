import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeraldChild } from './support/herald-child.js';
import { ADMIN_TOKEN, request, sleep } from './support/herald.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';

interface Webhook {
  id: string;
  url: string;
  secret?: string;
  prefix: string;
}

interface ErrorBody {
  statusCode: number;
  message: string;
}

/** An admin call to `/v1/admin/occupancy/webhooks…` of `herald`. */
function admin<T>(herald: HeraldChild, method: string, path = '', json?: unknown, token = ADMIN_TOKEN) {
  return request<T>(`${herald.url}/v1/admin/occupancy/webhooks${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
    json,
  });
}

describe('Occupancy webhooks: the admin API of the built app (node dist/main.js)', () => {
  let dir: string;
  const children: HeraldChild[] = [];
  const start = async (env: Record<string, string>) => {
    const child = await HeraldChild.start(env);
    children.push(child);
    return child;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-occupancy-e2e-'));
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates, lists, gets, replaces and deletes, never showing a secret', async () => {
    const herald = await start({ ALERTS_STORE_PATH: join(dir, 'crud', 'alerts.json') });
    expect((await admin<Webhook[]>(herald, 'GET')).body).toEqual([]);
    const body = { id: 'crm', url: 'https://crm.example.com/hook', secret: 'crm-shared-secret', prefix: 'rooms/' };
    const created = await admin<Webhook>(herald, 'POST', '', body);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ ...body, secret: '********' });
    const plain = await admin<Webhook>(herald, 'POST', '', { url: 'http://127.0.0.1:9/all' });
    expect(plain.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: 'http://127.0.0.1:9/all',
      prefix: '',
    });
    expect((await admin<Webhook[]>(herald, 'GET')).body).toEqual([created.body, plain.body]);
    expect((await admin<Webhook>(herald, 'GET', '/crm')).body).toEqual(created.body);

    // GET → edit → PUT keeps the secret (sent back masked); `null` removes it.
    const edited = await admin<Webhook>(herald, 'PUT', '/crm', { ...created.body, prefix: 'rooms/eu/' });
    expect(edited.body).toEqual({ ...created.body, prefix: 'rooms/eu/' });
    const stored = () =>
      JSON.parse(readFileSync(join(dir, 'crud', 'occupancy-webhooks.json'), 'utf8')) as {
        webhooks: Webhook[];
      };
    expect(stored().webhooks[0]).toEqual({ ...body, prefix: 'rooms/eu/' });
    const unsigned = await admin<Webhook>(herald, 'PUT', '/crm', { url: body.url, secret: null });
    expect(unsigned.body).toEqual({ id: 'crm', url: body.url, prefix: '' });
    expect(stored().webhooks[0].secret).toBeUndefined();

    expect((await admin(herald, 'DELETE', '/crm')).status).toBe(204);
    expect((await admin<ErrorBody>(herald, 'GET', '/crm')).body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'no occupancy webhook "crm"',
    });
    for (const [method, json] of [
      ['PUT', { url: body.url }],
      ['DELETE', undefined],
    ] as const) {
      expect((await admin(herald, method, '/crm', json)).status).toBe(404);
    }
    const logs = JSON.stringify(herald.logs);
    expect(logs).not.toContain('crm-shared-secret');
  });

  it('answers 400 naming every bad field, 409 for a taken id, 401 without the admin token', async () => {
    const herald = await start({ ALERTS_STORE_PATH: join(dir, 'bad', 'alerts.json') });
    const bad = async (json: unknown, method = 'POST', path = '') => {
      const answer = await admin<ErrorBody>(herald, method, path, json);
      expect(answer.status).toBe(400);
      return answer.body.message;
    };
    expect(await bad({ url: 'ftp://x.example/', prefix: 'rooms 1' })).toBe(
      'url must be an absolute http:// or https:// URL; ' +
        'prefix must be 0-256 characters from A-Z a-z 0-9 _ - . : / ~ @',
    );
    expect(await bad({})).toBe('url must be an absolute http:// or https:// URL');
    expect(await bad({ url: 'https://x.example/', events: ['occupied'] })).toBe('property events should not exist');
    expect(await bad({ url: 'https://x.example/', secret: '' })).toBe(
      'secret must be longer than or equal to 1 characters',
    );
    expect(await bad({ url: 'https://x.example/', prefix: 'p'.repeat(257) })).toBe(
      'prefix must be 0-256 characters from A-Z a-z 0-9 _ - . : / ~ @',
    );
    expect(await bad({ url: 'https://x.example/', id: 'a b' })).toBe(
      'id must be 1-64 characters from A-Z a-z 0-9 _ . : -',
    );
    expect((await admin(herald, 'POST', '', { url: 'https://x.example/', prefix: 'rooms/~me@x:1.2_-' })).status).toBe(
      201,
    );

    expect((await admin(herald, 'POST', '', { id: 'w', url: 'https://x.example/' })).status).toBe(201);
    const taken = await admin<ErrorBody>(herald, 'POST', '', { id: 'w', url: 'https://x.example/' });
    expect([taken.status, taken.body.message]).toEqual([409, 'the id "w" is taken']);
    expect(await bad({ id: 'other', url: 'https://x.example/' }, 'PUT', '/w')).toBe(
      'id must be "w" (the id in the path) or left out',
    );

    for (const token of ['', 'not-the-admin-token-0123456789']) {
      expect((await admin(herald, 'GET', '', undefined, token)).status).toBe(401);
      expect((await admin(herald, 'POST', '', { url: 'https://x.example/' }, token)).status).toBe(401);
    }
    expect((await admin<Webhook[]>(herald, 'GET')).body).toHaveLength(2);
  });

  it('keeps the webhooks across a restart, in the file beside ALERTS_STORE_PATH; a damaged file stops start-up', async () => {
    const env = { ALERTS_STORE_PATH: join(dir, 'restart', 'alerts.json') };
    const first = await start(env);
    const body = { id: 'kept', url: 'https://kept.example/', secret: 'kept-secret-0123', prefix: 'a/' };
    expect((await admin(first, 'POST', '', body)).status).toBe(201);
    await first.stop();

    const second = await start(env);
    expect((await admin<Webhook[]>(second, 'GET')).body).toEqual([{ ...body, secret: '********' }]);
    // The secret survived too: a masked PUT keeps it.
    await admin(second, 'PUT', '/kept', { url: body.url, secret: '********' });
    await second.stop();
    const path = join(dir, 'restart', 'occupancy-webhooks.json');
    expect(JSON.parse(readFileSync(path, 'utf8')).webhooks).toEqual([{ ...body, prefix: '' }]);

    writeFileSync(path, '{"version":1,"revision":3,"webhooks":[{"id":"x"');
    const broken = new HeraldChild(env);
    children.push(broken);
    const exit = await broken.exited;
    expect(exit.code).toBe(1);
    expect(broken.stderr).toContain(`occupancy webhooks store ${path} is not valid JSON`);
  });

  it('serves the metric (no series before the first delivery)', async () => {
    const herald = await start({ ALERTS_STORE_PATH: join(dir, 'metrics', 'alerts.json') });
    const metrics = await request<string>(`${herald.url}/metrics`);
    expect(metrics.body).toContain('# TYPE herald_presence_webhooks_total counter');
  });
});

const available = await redisAvailable();

describeWith(available, `Redis at ${REDIS_URL}`)('Occupancy webhooks: shared in Redis (BROKER=redis)', () => {
  const prefix = `herald-test-occupancy-${randomUUID().slice(0, 8)}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  const children: HeraldChild[] = [];

  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()));
    await redis.connect().catch(() => undefined);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('two instances share the webhooks: writes on both lose nothing, each re-reads the other, it outlives both', async () => {
    const env = { BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, SNAPSHOT_INTERVAL_MS: '200' };
    const [a, b] = await Promise.all([HeraldChild.start(env), HeraldChild.start(env)]);
    children.push(a, b);
    const creates = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        admin<Webhook>(i % 2 ? a : b, 'POST', '', {
          id: `w${i}`,
          url: `https://h${i}.example/`,
          secret: `secret-${i}-abc`,
        }),
      ),
    );
    expect(creates.map((answer) => answer.status)).toEqual(Array(20).fill(201));
    const ids = async (herald: HeraldChild) =>
      (await admin<Webhook[]>(herald, 'GET')).body.map((webhook) => webhook.id).sort();
    const expected = Array.from({ length: 20 }, (_, i) => `w${i}`).sort();
    for (const herald of [a, b]) {
      for (let i = 0; i < 25 && (await ids(herald)).length < 20; i++) await sleep(200);
      expect(await ids(herald)).toEqual(expected);
    }

    // A change on one is seen by the other within a refresh; the secret is kept through a masked round trip.
    expect((await admin(a, 'PUT', '/w0', { url: 'https://moved.example/', secret: '********' })).status).toBe(200);
    expect((await admin(b, 'DELETE', '/w1')).status).toBe(204);
    for (let i = 0; i < 25 && (await admin<Webhook>(b, 'GET', '/w0')).body.url !== 'https://moved.example/'; i++)
      await sleep(200);
    expect((await admin<Webhook>(b, 'GET', '/w0')).body).toEqual({
      id: 'w0',
      url: 'https://moved.example/',
      secret: '********',
      prefix: '',
    });
    for (let i = 0; i < 25 && (await admin(a, 'GET', '/w1')).status !== 404; i++) await sleep(200);
    expect((await admin(a, 'GET', '/w1')).status).toBe(404);

    await Promise.all([a.stop(), b.stop()]);
    await redis.connect().catch(() => undefined);
    const stored = JSON.parse((await redis.hget(`${prefix}occupancy-webhooks`, 'document')) as string) as {
      webhooks: Webhook[];
    };
    expect(stored.webhooks.find((webhook) => webhook.id === 'w0')).toEqual({
      id: 'w0',
      url: 'https://moved.example/',
      secret: 'secret-0-abc',
      prefix: '',
    });
    const c = await HeraldChild.start(env);
    children.push(c);
    expect((await ids(c)).length).toBe(19);
  });
});
