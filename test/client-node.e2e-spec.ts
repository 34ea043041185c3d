import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { HeraldClient, type ClientMetrics, type EventMeta, type HeraldError, type ResetInfo } from '@herald/client';
import { signJwt } from '../src/auth/jwt.js';
import type { ConnectionView } from '../src/streams/connection-registry.js';
import {
  ADMIN_TOKEN,
  eventually,
  publishOk,
  PUBLISH_TOKEN,
  request,
  sleep,
  startHerald,
  until,
  type RunningHerald,
} from './support/herald.js';

const TOPICS = ['load/0', 'load/1', 'load/2', 'load/3'];
const RATE = 1_000;

describe('Node client against the real app', () => {
  let herald: RunningHerald;
  /** The server side of every `/v1/events` request, to cut streams abruptly (no close frame). */
  const streamSockets: Socket[] = [];
  const clients: HeraldClient[] = [];
  const connect = (options: ConstructorParameters<typeof HeraldClient>[1] = {}): HeraldClient => {
    const client = new HeraldClient(herald.url, { maxRetryDelayMs: 1_000, resubscribeDebounceMs: 5, ...options });
    clients.push(client);
    return client;
  };

  const connections = async (): Promise<ConnectionView[]> =>
    (
      await request<ConnectionView[]>(`${herald.url}/v1/admin/connections`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).body;

  beforeAll(async () => {
    herald = await startHerald({ RETRY_MS: '50', HEARTBEAT_INTERVAL_MS: '1000', HISTORY_SIZE: '20000' });
    herald.app.getHttpServer().on('request', (req: IncomingMessage) => {
      if (req.method === 'GET' && req.url?.startsWith('/v1/events?')) streamSockets.push(req.socket);
    });
  });
  afterEach(() => clients.splice(0).forEach((client) => client.close()));
  afterAll(() => herald.close());

  it('resumes exactly under 20 forced disconnects while events flow at 1,000/s: no loss, no duplicate, order kept', async () => {
    const client = connect();
    const received: EventMeta[] = [];
    const errors: HeraldError[] = [];
    const resets: ResetInfo[] = [];
    client.subscribe(TOPICS, (_data, meta) => received.push(meta));
    client.on('error', (error) => errors.push(error));
    client.on('reset', (info) => resets.push(info));
    await eventually(() => client.state === 'open', 5_000, 'the stream to open');

    // Publisher: 1,000 events/s, paced against the clock, in batches spread over the topics.
    const published: string[] = [];
    let publishing = true;
    let publishError: unknown;
    const startedAt = Date.now();
    const publisher = (async () => {
      let n = 0;
      while (publishing && Date.now() - startedAt < 30_000) {
        const due = Math.min(200, Math.floor(((Date.now() - startedAt) * RATE) / 1_000) - n);
        if (due > 0) {
          const batch = Array.from({ length: due }, () => {
            const i = n++;
            return { topic: TOPICS[i % TOPICS.length], type: 'tick', data: { n: i } };
          });
          const answer = await request<{ ids: string[] }>(`${herald.url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
            json: batch,
          });
          if (answer.status !== 202) throw new Error(`publish failed: ${answer.status}`);
          published.push(...answer.body.ids);
        }
        await sleep(10);
      }
    })().catch((error: unknown) => {
      publishError = error;
    });

    // 20 forced disconnects: even ones kicked by the admin API (`event: close`), odd ones cut abruptly.
    const kinds: string[] = [];
    for (let i = 0; i < 20; i++) {
      await sleep(75);
      const before = await currentStream();
      if (i % 2 === 0) {
        const kick = await request(`${herald.url}/v1/admin/connections/${before.id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(kick.status).toBe(204);
        kinds.push('kicked');
      } else {
        streamSockets[streamSockets.length - 1].destroy();
        kinds.push('cut');
      }
      await waitForNewStream(before.id);
    }
    publishing = false;
    await publisher;
    expect(publishError).toBeUndefined();
    const seconds = (Date.now() - startedAt) / 1_000;
    const last = published[published.length - 1];
    await eventually(() => received.length > 0 && received[received.length - 1].id === last, 10_000, 'the last event');

    const ids = received.map((meta) => meta.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(published);
    expect(resets).toEqual([]);
    const metrics: ClientMetrics = client.metrics();
    expect(metrics.reconnects).toBeGreaterThanOrEqual(20);
    expect(metrics.messagesReceived).toBe(published.length);
    expect(metrics.connectedRatio).toBeGreaterThan(0.5);
    expect(errors.every((error) => error.kind === 'network' && !error.fatal)).toBe(true);
    expect(kinds.filter((kind) => kind === 'cut')).toHaveLength(10);
    process.stdout.write(
      `[client-node] ${published.length} events in ${seconds.toFixed(1)} s (${Math.round(published.length / seconds)}/s), ` +
        `20 disconnects, ${metrics.reconnects} reconnects, latency p50 ${metrics.latencyMs?.p50} ms p99 ${metrics.latencyMs?.p99} ms\n`,
    );
    // Paced at 1,000/s; on a loaded CI box the publisher may fall a little behind, never far.
    expect(published.length / seconds).toBeGreaterThan(0.75 * RATE);

    async function currentStream(): Promise<ConnectionView> {
      return until(async () => (await connections())[0], 'one stream');
    }
    async function waitForNewStream(oldId: string): Promise<void> {
      await until(async () => {
        const list = await connections();
        return list.length === 1 && list[0].id !== oldId && client.state === 'open';
      }, `a new stream after ${oldId}`);
    }
  }, 60_000);

  it('subscribes with a type filter, and reopens with the last id when topics are added', async () => {
    const client = connect();
    const positions: unknown[] = [];
    const later: string[] = [];
    client.subscribe('node/a', (data) => positions.push(data), { type: 'position' });
    await eventually(() => client.state === 'open', 5_000, 'open');
    await publishOk(herald, 'node/a', 'ignored', 'status');
    await publishOk(herald, 'node/a', { lat: 1 }, 'position');
    await eventually(() => positions.length === 1, 5_000, 'a position');
    client.subscribe('node/b', (_data, meta) => later.push(meta.topic));
    await until(async () => (await connections())[0]?.topics.length === 2, 'the union to grow');
    expect((await connections())[0].topics).toEqual(['node/a', 'node/b']);
    await publishOk(herald, 'node/b', 'b');
    await publishOk(herald, 'node/a', { lat: 2 }, 'position');
    await eventually(() => positions.length === 2 && later.length === 1, 5_000, 'events after the resubscribe');
    expect(positions).toEqual([{ lat: 1 }, { lat: 2 }]);
    expect(client.metrics()).toMatchObject({ resubscribes: 1, reconnects: 0, shared: false });
  });
});

describe('Node client with subscriber auth (JWT)', () => {
  const SECRET = 'client-e2e-jwt-secret-0123456789abcdef';
  let herald: RunningHerald;
  const clients: HeraldClient[] = [];
  beforeAll(async () => {
    herald = await startHerald({ JWT_SECRET: SECRET, RETRY_MS: '50' });
  });
  afterEach(() => clients.splice(0).forEach((client) => client.close()));
  afterAll(() => herald.close());

  const token = (topics: string[], ttlSeconds = 60): string =>
    signJwt({ topics, exp: Math.floor(Date.now() / 1_000) + ttlSeconds }, SECRET);

  it.each(['header', 'query'] as const)('sends a static token in the %s and receives', async (tokenIn) => {
    const client = new HeraldClient(herald.url, { token: token(['jwt/*']), tokenIn });
    clients.push(client);
    const got: string[] = [];
    client.subscribe('jwt/a', (_data, meta) => got.push(meta.id));
    await eventually(() => client.state === 'open', 5_000, 'open');
    const id = await publishOk(herald, 'jwt/a', 1);
    await eventually(() => got.length === 1, 5_000, 'the event');
    expect(got).toEqual([id]);
  });

  it('refuses a topic the token does not allow, without breaking the stream of the others', async () => {
    const client = new HeraldClient(herald.url, { token: token(['jwt/*']), resubscribeDebounceMs: 5 });
    clients.push(client);
    const errors: HeraldError[] = [];
    client.on('error', (error) => errors.push(error));
    const got: string[] = [];
    client.subscribe('jwt/b', (_data, meta) => got.push(meta.topic));
    client.subscribe('payroll', () => undefined);
    await eventually(() => client.state === 'open', 5_000, 'open');
    expect(errors).toEqual([expect.objectContaining({ kind: 'subscription', fatal: true, topics: ['payroll'] })]);
    await publishOk(herald, 'jwt/b', 1);
    await eventually(() => got.length === 1, 5_000, 'the allowed topic');
  });

  it('stops on 401 with no token, and resumes with a fresh token after token-expired', async () => {
    const anonymous = new HeraldClient(herald.url);
    clients.push(anonymous);
    const refused: HeraldError[] = [];
    anonymous.on('error', (error) => refused.push(error));
    anonymous.subscribe('jwt/c', () => undefined);
    await eventually(() => anonymous.state === 'failed', 5_000, 'failed');
    expect(refused[0]).toMatchObject({ kind: 'auth', status: 401, fatal: true });

    let minted = 0;
    const client = new HeraldClient(herald.url, {
      token: () => {
        minted++;
        return token(['jwt/*'], 1);
      },
    });
    clients.push(client);
    const got: string[] = [];
    client.subscribe('jwt/c', (_data, meta) => got.push(meta.id));
    await eventually(() => client.state === 'open', 5_000, 'open');
    const ids = [await publishOk(herald, 'jwt/c', 1)];
    // The 1 s token expires: Herald closes with `token-expired`, the client mints a new one and resumes.
    await eventually(() => minted >= 2 && client.state === 'open', 5_000, 'a fresh token');
    ids.push(await publishOk(herald, 'jwt/c', 2));
    await eventually(() => got.length === 2, 5_000, 'both events');
    expect(got).toEqual(ids);
  });
});
