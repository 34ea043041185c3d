import { afterAll, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AlertsDocument } from '../src/alerts/alert-model.js';
import { DocumentStoreError, StoreConflictError } from '../src/store/document-store.js';
import { RedisDocumentStore } from '../src/store/redis-document.store.js';
import { ADMIN_TOKEN, request, sleep, startHerald, type RunningHerald } from './support/herald.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';

interface Channel {
  id: string;
  name: string;
  secret?: string;
}

const document = (revision: number, names: string[] = []): AlertsDocument => ({
  version: 1,
  revision,
  channels: names.map((name) => ({ id: name, name, kind: 'log', enabled: true })),
  rules: [],
});

/** The store as Herald makes it for the alert configuration. */
const alertsStore = (url: string, keyPrefix: string) =>
  new RedisDocumentStore<AlertsDocument>('alerts store', url, `${keyPrefix}alerts`);

function admin<T>(herald: RunningHerald, method: string, path: string, json?: unknown) {
  return request<T>(`${herald.url}/v1/admin/alerts${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    json,
  });
}

const available = await redisAvailable();

describeWith(available, `Redis at ${REDIS_URL}`)('Alerts: the configuration in Redis (BROKER=redis)', () => {
  const prefix = `herald-test-alerts-${randomUUID().slice(0, 8)}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });

  afterAll(async () => {
    await redis.connect().catch(() => undefined);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('RedisDocumentStore: nothing at first, then compare-and-set on the revision', async () => {
    const store = alertsStore(REDIS_URL, `${prefix}direct:`);
    try {
      expect(store.location).toBe(`redis key ${prefix}direct:alerts`);
      expect(await store.load()).toBeUndefined();
      expect(await store.revision()).toBe(0);
      await store.save(document(1, ['a']));
      expect(await store.load()).toEqual(document(1, ['a']));
      // A writer that read revision 0 (a stale copy) loses, and the stored document is untouched.
      await expect(store.save(document(1, ['b']))).rejects.toThrow(StoreConflictError);
      await expect(store.save(document(5, ['b']))).rejects.toThrow('is at revision 1, not 4');
      await store.save(document(2, ['a', 'c']));
      expect(await store.load()).toEqual(document(2, ['a', 'c']));
      expect(await store.revision()).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('RedisDocumentStore: a value that is not JSON is an error naming the key, not an empty configuration', async () => {
    const store = alertsStore(REDIS_URL, `${prefix}broken:`);
    await redis.connect().catch(() => undefined);
    await redis.hset(`${prefix}broken:alerts`, 'revision', '3', 'document', '{"version":1,"chan');
    try {
      await expect(store.load()).rejects.toThrow(DocumentStoreError);
      await expect(store.load()).rejects.toThrow(`alerts store redis key ${prefix}broken:alerts is not valid JSON`);
    } finally {
      await store.close();
    }
  });

  it('RedisDocumentStore: an unreachable Redis is a clear error, not a hang', async () => {
    const store = alertsStore('redis://127.0.0.1:1', `${prefix}nowhere:`);
    try {
      await expect(store.load()).rejects.toThrow(`alerts store redis key ${prefix}nowhere:alerts cannot be read`);
    } finally {
      await store.close();
    }
  });

  it('two instances share one configuration: parallel writes on both lose nothing, and it outlives both', async () => {
    const env = { BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix, SNAPSHOT_INTERVAL_MS: '200' };
    const a = await startHerald(env);
    const b = await startHerald(env);
    try {
      const creates = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          admin<Channel>(i % 2 ? a : b, 'POST', '/channels', {
            name: `shared-${i}`,
            kind: 'webhook',
            url: 'https://receiver.example/hook',
            secret: `secret-${i}-abcdef`,
          }),
        ),
      );
      expect(creates.map((answer) => answer.status)).toEqual(Array(30).fill(201));
      for (const answer of creates) expect(answer.body.secret).toBe('********');

      // Each instance re-reads the shared store on its snapshot schedule.
      const names = async (herald: RunningHerald) =>
        (await admin<Channel[]>(herald, 'GET', '/channels')).body.map((channel) => channel.name).sort();
      const expected = ['Herald log', ...Array.from({ length: 30 }, (_, i) => `shared-${i}`)].sort();
      for (let i = 0; i < 25 && (await names(a)).length < 31; i++) await sleep(200);
      for (let i = 0; i < 25 && (await names(b)).length < 31; i++) await sleep(200);
      expect(await names(a)).toEqual(expected);
      expect(await names(b)).toEqual(expected);

      const rule = await admin<{ id: string }>(b, 'POST', '/rules', {
        name: 'from b',
        metric: 'heap_used_mb',
        op: '>',
        threshold: 4096,
        channels: [creates[0].body.id],
      });
      expect(rule.status).toBe(201);
      let seen = 404;
      for (let i = 0; i < 25 && seen !== 200; i++) {
        seen = (await admin(a, 'GET', `/rules/${rule.body.id}`)).status;
        if (seen !== 200) await sleep(200);
      }
      expect(seen).toBe(200);
    } finally {
      await a.close();
      await b.close();
    }

    const c = await startHerald({ BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix });
    try {
      expect((await admin<Channel[]>(c, 'GET', '/channels')).body).toHaveLength(31);
      expect((await admin<Array<{ name: string }>>(c, 'GET', '/rules')).body.map((r) => r.name)).toContain('from b');
      // The secrets are kept in Redis, where the instances read them from.
      await redis.connect().catch(() => undefined);
      const stored = JSON.parse((await redis.hget(`${prefix}alerts`, 'document')) as string) as AlertsDocument;
      expect(stored.channels.find((channel) => channel.name === 'shared-7')?.secret).toBe('secret-7-abcdef');
    } finally {
      await c.close();
    }
  });
});
