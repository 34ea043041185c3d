import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject } from '@nestjs/swagger';
import { connect } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { signJwt } from '../src/auth/jwt.js';
import { Drain } from '../src/health/drain.js';
import { ADMIN_TOKEN, eventually, sleep, startHerald, type RunningHerald } from './support/herald.js';
import {
  CONTRACT_ORDER,
  openApiContract,
  operationsOf,
  send,
  type CallOptions,
  type HttpAnswer,
} from './support/openapi-contract.js';

/**
 * Every operation called as documented, refused as documented, under limits
 * and outages; the last test needs every one before it (it checks that each
 * documented status was seen), so they stay in this one file.
 */

/** How many frames to read from a stream's documented example call before checking them. */
const FRAMES_TO_READ: Record<string, number> = { subscribe: 1, streamDashboard: 2 };

/**
 * Documented answers this suite cannot provoke against a real server, and why.
 * Every other documented status of every operation is observed at least once.
 */
const NOT_PROVOKED: Record<string, string> = {
  'getFleetExample 404': 'only before `npm run build` built the example page',
};

const METRICS_TOKEN = 'test-metrics-token-0123456789';
const JWT_SECRET = 'openapi-suite-jwt-secret-0123456789';

describe('OpenAPI: /openapi.json and the running server agree', () => {
  let herald: RunningHerald;
  let document: OpenAPIObject;
  let closedPort: number;
  const { observed, op, documentedCall, documentedToken, bodyExamples, isStream, check, successStatus } =
    openApiContract((server) => ({ herald, document, closedPort } = server));

  describe('every operation answers its documented examples as documented', () => {
    let heldStream: HttpAnswer | undefined;

    beforeAll(() => {
      // An open stream, so the connection list has something to show; it ends when the app closes.
      void send(
        herald.url,
        { method: 'get', path: '/v1/events', query: { topic: 'held' } },
        {
          until: () => false,
          timeoutMs: 60_000,
          onOpen: (answer) => {
            heldStream = answer;
          },
        },
      ).catch(() => undefined);
    });

    for (const id of CONTRACT_ORDER) {
      it(`${id}`, async () => {
        const operation = op(id);
        if (id === 'listConnections') await eventually(() => heldStream !== undefined, 5_000, 'the held stream');
        // The app shares this process's event loop: a stall of the test runner itself (over 1 s in the last
        // 10 s, on a loaded machine) is a documented 503 until it ages out; the probe must then answer 200.
        if (id === 'getLiveness')
          await eventually(
            async () => (await send(herald.url, documentedCall(operation))).status === 200,
            12_000,
            `${id} to answer 200`,
            50,
          );
        for (const [, body] of bodyExamples(operation)) {
          const answer = await check(operation, documentedCall(operation, {}, body), successStatus(operation), {
            stream: isStream(operation) ? { until: (a) => a.frames.length >= FRAMES_TO_READ[id] } : undefined,
          });
          if (id === 'subscribe') {
            // The documented Last-Event-ID is not in this server's history: a reset, after retry.
            expect(answer.retries).toEqual([herald.config.retryMs]);
            expect(answer.frames.map((frame) => frame.event)).toEqual(['reset']);
          }
          if (id === 'listConnections') expect((JSON.parse(answer.text) as unknown[]).length).toBeGreaterThan(0);
          if (id === 'streamDashboard')
            expect(answer.frames.map((frame) => frame.event)).toEqual(['history', 'snapshot']);
        }
      });
    }
  });

  describe('streams: every frame as documented', () => {
    it('a live stream in envelope format: retry, events, then close (kicked) after a kick', async () => {
      const subscribe = op('subscribe');
      const topic = 'openapi/kick';
      const answer = await check(
        subscribe,
        documentedCall(subscribe, { query: { topic, format: 'envelope' }, omit: ['Last-Event-ID', 'lastEventId'] }),
        200,
        {
          format: 'envelope',
          stream: {
            until: (a) => a.frames.some((frame) => frame.event === 'close'),
            onOpen: async (stream) => {
              const publish = op('publish');
              await check(
                publish,
                documentedCall(publish, { path: { topic } }, { type: 'position', data: { lat: 1, lon: 2 } }),
                202,
              );
              await check(publish, documentedCall(publish, { path: { topic } }, { data: 'line one\nline two' }), 202);
              const list = await check(op('listConnections'), documentedCall(op('listConnections')), 200);
              const connection = (JSON.parse(list.text) as { id: string; topics: string[] }[]).find((c) =>
                c.topics.includes(topic),
              );
              await eventually(() => stream.frames.length >= 2, 5_000, 'two frames');
              const kick = op('kickConnection');
              await check(kick, documentedCall(kick, { path: { id: connection!.id } }), 204);
            },
          },
        },
      );
      expect(answer.retries[0]).toBe(herald.config.retryMs);
      expect(answer.frames.map((frame) => frame.event)).toEqual(['position', 'message', 'close']);
      expect(JSON.parse(answer.frames[1].data)).toMatchObject({ topic, type: 'message', data: 'line one\nline two' });
      expect(JSON.parse(answer.frames[2].data)).toEqual({ reason: 'kicked' });
    });

    it('a raw stream resuming from a real id replays what it missed, then a string payload as it is', async () => {
      const subscribe = op('subscribe');
      const topic = 'openapi/resume';
      const publish = op('publish');
      const first = JSON.parse(
        (await check(publish, documentedCall(publish, { path: { topic } }, { data: 'one' }), 202)).text,
      ) as { id: string };
      await check(publish, documentedCall(publish, { path: { topic } }, { type: 'note', data: 'two' }), 202);
      await check(publish, documentedCall(publish, { path: { topic } }, { data: { n: 3 } }), 202);
      const answer = await check(
        subscribe,
        documentedCall(subscribe, { query: { topic }, headers: { 'Last-Event-ID': first.id } }),
        200,
        {
          stream: { until: (a) => a.frames.length >= 2 },
        },
      );
      expect(answer.frames.map((frame) => [frame.event, frame.data])).toEqual([
        ['note', 'two'],
        ['message', '{"n":3}'],
      ]);
    });

    it('the long-poll: a reset for an unknown id, then the events after the cursor it gave', async () => {
      const poll = op('poll');
      const topic = 'openapi/poll';
      // The documented Last-Event-ID is unknown here: an immediate reset with the head as the cursor.
      const reset = await check(poll, documentedCall(poll, { query: { topic } }), 200);
      const { lastEventId } = JSON.parse(reset.text) as { lastEventId: string };
      expect(JSON.parse(reset.text)).toEqual({ events: [], lastEventId, reset: true });
      const publish = op('publish');
      await check(publish, documentedCall(publish, { path: { topic } }, { data: { n: 1 } }), 202);
      const answer = await check(
        poll,
        documentedCall(poll, { query: { topic }, headers: { 'Last-Event-ID': lastEventId } }),
        200,
      );
      expect(JSON.parse(answer.text)).toMatchObject({ events: [{ topic, data: { n: 1 } }], reset: false });
      // Nothing newer: an empty list at the timeout, the cursor unchanged.
      const next = (JSON.parse(answer.text) as { lastEventId: string }).lastEventId;
      const idle = await check(
        poll,
        documentedCall(poll, { query: { topic }, headers: { 'Last-Event-ID': next } }),
        200,
      );
      expect(JSON.parse(idle.text)).toEqual({ events: [], lastEventId: next, reset: false });
    });
  });

  describe('documented refusals', () => {
    it('401 for every operation that needs a credential, without one and with a wrong one', async () => {
      const secured = operationsOf(document).filter((operation) => documentedToken(operation) !== null);
      expect(secured.length).toBeGreaterThan(15);
      for (const operation of secured) {
        const [[, body]] = bodyExamples(operation);
        await check(operation, documentedCall(operation, { token: null }, body), 401);
        await check(operation, documentedCall(operation, { token: 'not-the-token-0123456789' }, body), 401);
      }
    });

    it('400 for a topic route given a bad topic, limit, cursor or prefix', async () => {
      const calls: [string, CallOptions][] = [
        ['getTopic', { path: { topic: 'a b' } }],
        ['getTopicPresence', { query: { limit: '0' } }],
        ['getTopicPresence', { query: { cursor: 'not a cursor' } }],
        ['listTopics', { query: { prefix: 'a b' } }],
      ];
      for (const [id, options] of calls) await check(op(id), documentedCall(op(id), options), 400);
    });

    it('404 for every operation on an id that does not exist', async () => {
      const byId = operationsOf(document).filter((operation) => operation.path.includes('{id}'));
      expect(byId.map((operation) => operation.id).sort()).toEqual(
        [
          'deleteAlertChannel',
          'deleteAlertRule',
          'deleteOccupancyWebhook',
          'getAlertChannel',
          'getAlertRule',
          'getOccupancyWebhook',
          'kickConnection',
          'replaceAlertChannel',
          'replaceAlertRule',
          'replaceOccupancyWebhook',
          'testAlertChannel',
        ].sort(),
      );
      for (const operation of byId) {
        const [[, body]] = bodyExamples(operation);
        const withoutId = body && typeof body === 'object' ? { ...body, id: undefined } : body;
        await check(operation, documentedCall(operation, { path: { id: 'no-such-id' } }, withoutId), 404);
      }
    });

    it('400, 406, 413 and 415 on bad input', async () => {
      const subscribe = op('subscribe');
      await check(subscribe, documentedCall(subscribe, { query: { topic: 'a b' } }), 400);
      await check(subscribe, documentedCall(subscribe, { query: { format: 'xml' } }), 400);
      await check(subscribe, documentedCall(subscribe, { headers: { Accept: 'application/json' } }), 406);
      const poll = op('poll');
      await check(poll, documentedCall(poll, { query: { timeout: '90' } }), 400);
      const publish = op('publish');
      await check(publish, documentedCall(publish, { path: { topic: 'a b' } }, { data: 1 }), 400);
      await check(publish, documentedCall(publish, {}, { type: 'bad type', data: 1 }), 400);
      await check(
        publish,
        documentedCall(publish, { rawBody: { contentType: 'application/json', text: '{"data": }' } }),
        400,
      );
      await check(publish, documentedCall(publish, { rawBody: { contentType: 'text/plain', text: 'hello' } }), 415);
      await check(publish, documentedCall(publish, {}, { data: 'x'.repeat(herald.config.maxEventBytes) }), 413);
      const batch = op('publishBatch');
      await check(batch, documentedCall(batch, {}, []), 400);
      await check(
        batch,
        documentedCall(batch, {}, [{ topic: 'a', data: 'x'.repeat(herald.config.maxEventBytes) }]),
        413,
      );
      await check(batch, documentedCall(batch, { rawBody: { contentType: 'text/plain', text: 'hello' } }), 415);
      const createChannel = op('createAlertChannel');
      await check(createChannel, documentedCall(createChannel, {}, { name: 'x', kind: 'pager' }), 400);
      await check(createChannel, documentedCall(createChannel, {}, { id: 'log', name: 'x', kind: 'log' }), 409);
      const replaceChannel = op('replaceAlertChannel');
      await check(
        replaceChannel,
        documentedCall(replaceChannel, { path: { id: 'log' } }, { name: 'x', kind: 'webhook', url: 'nope' }),
        400,
      );
      const deleteChannel = op('deleteAlertChannel');
      await check(deleteChannel, documentedCall(deleteChannel, { path: { id: 'log' } }), 409);
      const createRule = op('createAlertRule');
      await check(
        createRule,
        documentedCall(createRule, {}, { name: 'x', metric: 'cpu', op: '>', threshold: -1 }),
        400,
      );
      await check(
        createRule,
        documentedCall(createRule, {}, { id: 'capacity-high', name: 'x', metric: 'rss_mb', op: '>', threshold: 1 }),
        409,
      );
      const replaceRule = op('replaceAlertRule');
      await check(
        replaceRule,
        documentedCall(replaceRule, {}, { id: 'other', name: 'x', metric: 'rss_mb', op: '>', threshold: 1 }),
        400,
      );
      const history = op('listAlertHistory');
      await check(history, documentedCall(history, { query: { limit: '0' } }), 400);
      const createWebhook = op('createOccupancyWebhook');
      await check(createWebhook, documentedCall(createWebhook, {}, { url: 'nope', prefix: 'a b' }), 400);
      await check(createWebhook, documentedCall(createWebhook, {}, { url: 'https://x.example/', extra: 1 }), 400);
      const taken = { id: 'taken-hook', url: 'https://x.example/' };
      await check(createWebhook, documentedCall(createWebhook, {}, taken), 201);
      await check(createWebhook, documentedCall(createWebhook, {}, taken), 409);
      const replaceWebhook = op('replaceOccupancyWebhook');
      await check(
        replaceWebhook,
        documentedCall(replaceWebhook, { path: { id: 'taken-hook' } }, { url: 'https://x.example/', secret: '' }),
        400,
      );
      await check(
        replaceWebhook,
        documentedCall(replaceWebhook, { path: { id: 'taken-hook' } }, { id: 'other', url: 'https://x.example/' }),
        400,
      );
      const clientFile = op('getClientFile');
      await check(clientFile, documentedCall(clientFile, { path: { file: 'other.js' } }), 404);
      const dashboardAsset = op('getDashboardAsset');
      await check(dashboardAsset, documentedCall(dashboardAsset, { path: { asset: 'x.js' } }), 404);
    });

    it('304 for an unchanged client file or page', async () => {
      for (const id of ['getClientFile', 'getFleetExample']) {
        const operation = op(id);
        const first = await check(operation, documentedCall(operation), 200);
        await check(
          operation,
          documentedCall(operation, { headers: { 'If-None-Match': String(first.headers.etag) } }),
          304,
        );
      }
    });

    it('502 naming the failure when a channel test cannot be delivered', async () => {
      const port = closedPort;
      const createChannel = op('createAlertChannel');
      await check(
        createChannel,
        documentedCall(
          createChannel,
          {},
          { id: 'dead-end', name: 'nobody listens', kind: 'webhook', url: `http://127.0.0.1:${port}/` },
        ),
        201,
      );
      const test = op('testAlertChannel');
      const answer = await check(test, documentedCall(test, { path: { id: 'dead-end' } }), 502);
      expect((JSON.parse(answer.text) as { message: string }).message).toMatch(/dead-end.*failed after 1 attempt/);
    });
  });

  describe('limits and subscriber auth (JWT_SECRET, small limits)', () => {
    let limited: RunningHerald;
    /** Streams held open until the drain below ends them, each checked frame by frame when it ends. */
    const held: Promise<HttpAnswer>[] = [];
    const token = (claims: Record<string, unknown>): string => signJwt(claims, JWT_SECRET);

    beforeAll(async () => {
      limited = await startHerald({
        JWT_SECRET,
        METRICS_TOKEN,
        MAX_CONNECTIONS: '4',
        CAPACITY_THRESHOLD: '0.75',
        MAX_CONNECTIONS_PER_IP: '1',
        MAX_CONNECTIONS_PER_TENANT: '1',
        PUBLISH_RATE_LIMIT: '1',
        PUBLISH_RATE_WINDOW_MS: '60000',
        DRAIN_TIMEOUT_MS: '1000',
      });
    });
    afterAll(async () => {
      await limited.close();
      await Promise.allSettled(held);
    });

    /** Opens a stream that stays open until Herald closes it; resolves once it is admitted. */
    async function holdStream(localAddress: string, tenant: string): Promise<void> {
      const subscribe = op('subscribe');
      let opened: () => void = () => undefined;
      const admitted = new Promise<void>((resolve) => (opened = resolve));
      const call = documentedCall(subscribe, {
        localAddress,
        token: token({ topics: ['trucks/*', 'alerts'], tenant }),
      });
      held.push(
        check(subscribe, call, 200, {
          server: limited,
          stream: {
            until: (a) => a.frames.some((f) => f.event === 'close'),
            timeoutMs: 60_000,
            onOpen: () => opened(),
          },
        }),
      );
      await admitted;
    }

    it('with METRICS_TOKEN set, /metrics and /status are 401 without it or with another token, 200 with it', async () => {
      for (const id of ['getMetrics', 'getStatus']) {
        const operation = op(id);
        expect(operation.operation.security).toEqual([{}, { metrics: [] }]);
        await check(operation, documentedCall(operation, { token: null }), 401, { server: limited });
        await check(operation, documentedCall(operation, { token: ADMIN_TOKEN }), 401, { server: limited });
        await check(operation, documentedCall(operation, { token: METRICS_TOKEN }), 200, { server: limited });
      }
    });

    it('401 and 403 for subscribers, 403 for a publisher JWT outside its publish claim', async () => {
      for (const id of ['subscribe', 'poll']) {
        const operation = op(id);
        await check(operation, documentedCall(operation, { token: null }), 401, { server: limited });
        await check(operation, documentedCall(operation, { token: token({ topics: ['trucks/*'], exp: 1 }) }), 401, {
          server: limited,
        });
        await check(operation, documentedCall(operation, { token: token({ topics: ['other'] }) }), 403, {
          server: limited,
        });
      }
      const publisher = token({ publish: ['other/*'] });
      const publish = op('publish');
      await check(publish, documentedCall(publish, { token: publisher }, { data: 1 }), 403, { server: limited });
      const batch = op('publishBatch');
      await check(batch, documentedCall(batch, { token: publisher }, [{ topic: 'trucks/42', data: 1 }]), 403, {
        server: limited,
      });
      for (const id of ['getTopic', 'getTopicPresence']) {
        await check(op(id), documentedCall(op(id), { token: publisher }), 403, { server: limited });
      }
    });

    it('429 with Retry-After per IP and per tenant, 503 with Retry-After at capacity', async () => {
      await holdStream('127.0.0.1', 'acme');
      const subscribe = op('subscribe');
      const claims = (tenant: string): string => token({ topics: ['trucks/*', 'alerts'], tenant });
      const perIp = await check(
        subscribe,
        documentedCall(subscribe, { localAddress: '127.0.0.1', token: claims('other') }),
        429,
        { server: limited },
      );
      expect(JSON.parse(perIp.text)).toMatchObject({ message: 'too many connections from this IP address' });
      const perTenant = await check(
        subscribe,
        documentedCall(subscribe, { localAddress: '127.0.0.2', token: claims('acme') }),
        429,
        { server: limited },
      );
      expect(JSON.parse(perTenant.text)).toMatchObject({ message: 'too many connections for this tenant' });
      await holdStream('127.0.0.2', 'beta');
      await holdStream('127.0.0.3', 'gamma');
      const full = await check(
        subscribe,
        documentedCall(subscribe, { localAddress: '127.0.0.4', token: claims('delta') }),
        503,
        { server: limited },
      );
      expect(full.headers['retry-after']).toBe(String(limited.config.retryAfterSeconds));
    });

    it('429 with Retry-After past the publish rate limit', async () => {
      for (const id of ['publish', 'publishBatch']) {
        const operation = op(id);
        const [[, body]] = bodyExamples(operation);
        const accepted = await check(operation, documentedCall(operation, {}, body), 202, { server: limited });
        expect(accepted.headers['x-ratelimit-remaining']).toBe('0');
        await check(operation, documentedCall(operation, {}, body), 429, { server: limited });
      }
    });

    it('409 while the same Idempotency-Key is in flight, 422 when it is reused for another body', async () => {
      for (const id of ['publish', 'publishBatch']) {
        const operation = op(id);
        const [[, body]] = bodyExamples(operation);
        const key = `contract-${id}`;
        const call = documentedCall(operation, { headers: { 'Idempotency-Key': key } }, body);
        // The first request's head and half its body: it stays in flight until the rest is sent.
        const text = JSON.stringify(body);
        const socket = connect({ host: '127.0.0.1', port: herald.port });
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
        socket.write(
          `POST ${call.path} HTTP/1.1\r\nhost: x\r\nauthorization: ${call.headers?.authorization ?? ''}\r\n` +
            `content-type: application/json\r\nidempotency-key: ${key}\r\n` +
            `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text.slice(0, 3)}`,
        );
        await sleep(100);
        const inFlight = await check(operation, call, 409);
        expect(inFlight.headers['retry-after']).toBe('1');
        socket.write(text.slice(3));
        await eventually(() => answer.includes('\r\n\r\n'), 5_000, 'the first answer');
        expect(answer).toMatch(/^HTTP\/1.1 202/);
        const other = Array.isArray(body) ? [...(body as unknown[]), ...(body as unknown[])] : { data: 'other' };
        await check(operation, documentedCall(operation, { headers: { 'Idempotency-Key': key } }, other), 422);
      }
    });

    it('readiness 503 at the capacity threshold; while draining, 503 for new streams and close (draining) for open ones', async () => {
      const ready = op('getReadiness');
      const full = await check(ready, documentedCall(ready), 503, { server: limited });
      expect(JSON.parse(full.text)).toMatchObject({ status: 'error', error: { capacity: { status: 'down' } } });
      const drained = limited.get<Drain>(Drain).run();
      const draining = await check(ready, documentedCall(ready), 503, { server: limited });
      expect(JSON.parse(draining.text)).toMatchObject({ error: { draining: { status: 'down' } } });
      const subscribe = op('subscribe');
      const refused = await check(
        subscribe,
        documentedCall(subscribe, { localAddress: '127.0.0.5', token: token({ topics: ['trucks/*', 'alerts'] }) }),
        503,
        { server: limited },
      );
      expect(JSON.parse(refused.text)).toMatchObject({ message: 'Herald is shutting down; retry on another instance' });
      const streams = await Promise.all(held);
      expect(streams).toHaveLength(3);
      for (const stream of streams)
        expect(JSON.parse(stream.frames.at(-1)?.data ?? '')).toEqual({ reason: 'draining' });
      await drained;
    });
  });

  describe('outages: the event broker unreachable, the configuration stores unwritable', () => {
    let brokerless: RunningHerald;
    let storeless: RunningHerald;
    let presenceOff: RunningHerald;

    beforeAll(async () => {
      [brokerless, storeless, presenceOff] = await Promise.all([
        startHerald({ BROKER: 'redis', REDIS_URL: `redis://127.0.0.1:${closedPort}` }),
        startHerald(),
        startHerald({ PRESENCE: 'off' }),
      ]);
    });
    afterAll(() => Promise.all([brokerless.close(), storeless.close(), presenceOff.close()]));

    it('with PRESENCE=off the topic routes are 404', async () => {
      for (const id of ['getTopic', 'getTopicPresence', 'listTopics']) {
        await check(op(id), documentedCall(op(id)), 404, { server: presenceOff });
      }
    });

    it('without the broker: 503 with Retry-After for publish, poll and new streams; readiness and startup 503', async () => {
      const ids = ['publish', 'publishBatch', 'poll', 'subscribe', 'getReadiness', 'getStartup'];
      for (const id of [...ids, 'getTopic', 'getTopicPresence', 'listTopics']) {
        const operation = op(id);
        const [[, body]] = bodyExamples(operation);
        await check(operation, documentedCall(operation, {}, body), 503, { server: brokerless });
      }
      const live = op('getLiveness');
      await check(live, documentedCall(live), 200, { server: brokerless });
      // The apps run in this process: blocking this thread stalls their event loop past the 1 s bound.
      const until = Date.now() + 1_300;
      while (Date.now() < until);
      await eventually(
        async () => (await send(brokerless.url, documentedCall(live))).status === 503,
        5_000,
        'the broker to be down',
        50,
      );
      const wedged = await check(live, documentedCall(live), 503, { server: brokerless });
      expect(JSON.parse(wedged.text)).toMatchObject({ error: { eventLoop: { status: 'down' } } });
    });

    it('with the store unwritable (its directory gone, a file in its place): 503 for every change, nothing changed', async () => {
      const create = op('createAlertChannel');
      await check(create, documentedCall(create, {}, { id: 'unused', name: 'unused', kind: 'log' }), 201, {
        server: storeless,
      });
      const createWebhook = op('createOccupancyWebhook');
      const webhook = { id: 'unused-hook', url: 'https://x.example/' };
      await check(createWebhook, documentedCall(createWebhook, {}, webhook), 201, { server: storeless });
      // A file where the store's directory was: every write fails (ENOTDIR), even for root.
      const directory = dirname(storeless.config.alertsStorePath);
      rmSync(directory, { recursive: true, force: true });
      writeFileSync(directory, 'not a directory');
      const calls: [string, CallOptions, unknown][] = [
        ['deleteAlertChannel', { path: { id: 'unused' } }, undefined],
        ['createAlertChannel', {}, { name: 'x', kind: 'log' }],
        ['replaceAlertChannel', { path: { id: 'log' } }, { name: 'renamed', kind: 'log' }],
        ['createAlertRule', {}, { name: 'x', metric: 'rss_mb', op: '>', threshold: 1 }],
        ['replaceAlertRule', { path: { id: 'capacity-high' } }, { name: 'x', metric: 'rss_mb', op: '>', threshold: 1 }],
        ['deleteAlertRule', { path: { id: 'capacity-high' } }, undefined],
        ['createOccupancyWebhook', {}, { url: 'https://y.example/' }],
        ['replaceOccupancyWebhook', { path: { id: 'unused-hook' } }, { url: 'https://y.example/' }],
        ['deleteOccupancyWebhook', { path: { id: 'unused-hook' } }, undefined],
      ];
      for (const [id, options, body] of calls) {
        await check(op(id), documentedCall(op(id), options, body), 503, { server: storeless });
      }
      const list = op('listAlertRules');
      const rules = JSON.parse((await check(list, documentedCall(list), 200, { server: storeless })).text) as {
        id: string;
      }[];
      expect(rules.map((rule) => rule.id)).toContain('capacity-high');
      const channel = op('getAlertChannel');
      const log = JSON.parse((await check(channel, documentedCall(channel), 200, { server: storeless })).text) as {
        name: string;
      };
      expect(log.name).toBe('Herald log');
    });
  });

  it('observed every documented status of every operation, except the ones named with a reason', () => {
    const documented = operationsOf(document).flatMap(({ id, operation }) =>
      Object.keys(operation.responses).map((status) => `${id} ${status}`),
    );
    expect(documented.filter((entry) => !observed.has(entry) && !(entry in NOT_PROVOKED))).toEqual([]);
    // Nothing is excused that was seen, or that is not documented at all.
    expect(Object.keys(NOT_PROVOKED).filter((entry) => observed.has(entry) || !documented.includes(entry))).toEqual([]);
  });
});
