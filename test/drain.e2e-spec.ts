import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { get, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { HeraldChild } from './support/herald-child.js';
import { ADMIN_TOKEN, PUBLISH_TOKEN, eventually, request, sleep, type HttpAnswer } from './support/herald.js';
import { RawSseClient } from './support/raw-sse.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';

const DRAIN_TIMEOUT_MS = 3_000;

function publish(url: string, topic: string, data: unknown): Promise<HttpAnswer<{ id: string }>> {
  return request(`${url}/v1/topics/${encodeURIComponent(topic)}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
    json: { data },
  });
}

/**
 * GET on a new connection, as a kubelet probe or a reconnecting browser does
 * (a pooled keep-alive connection may be the one the drain is closing).
 */
function getFresh(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Record<string, unknown> }>(
    (resolve, reject) => {
      get(url, { agent: false, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
      }).on('error', reject);
    },
  );
}

/**
 * A client that ignores the end of its stream: it reads, but never closes its
 * side of the connection (a stuck proxy, a buggy client).
 */
class StubbornClient {
  readonly socket: Socket;
  received = '';
  /** When the server ended its side (FIN), if it did. */
  serverEndedAt: number | undefined;

  constructor(url: string, path: string) {
    const target = new URL(url);
    this.socket = connect({ host: target.hostname, port: Number(target.port), allowHalfOpen: true });
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: text/event-stream\r\n\r\n`);
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString()));
    this.socket.on('end', () => (this.serverEndedAt = Date.now()));
    this.socket.on('error', () => undefined);
  }
}

const closeFrame = /event: close\r?\nretry: (\d+)\r?\ndata: \{"reason":"draining"\}/;

describe('Drain on SIGTERM (node dist/main.js)', () => {
  const children: HeraldChild[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(children.splice(0).map((child) => child.stop()));
  });

  it('flips readiness, refuses new streams, closes every stream with a spread retry, cuts a stuck client at the deadline, exits 0', async () => {
    const herald = await HeraldChild.start({
      DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
      RETRY_MS: '1000',
      RETRY_AFTER_SECONDS: '11',
      HEARTBEAT_INTERVAL_MS: '60000',
    });
    children.push(herald);
    const clients = Array.from({ length: 6 }, () => new RawSseClient(`${herald.url}/v1/events?topic=drain`));
    const stubborn = new StubbornClient(herald.url, '/v1/events?topic=drain');
    sockets.push(stubborn.socket, ...clients.map((client) => client.socket));
    await Promise.all(clients.map((client) => client.waitForBody((body) => body.startsWith('retry: 1000'))));
    await eventually(() => stubborn.received.includes('retry: 1000'), 5_000, 'stubborn client streaming');
    expect((await request(`${herald.url}/health/ready`)).status).toBe(200);

    // Accepted before the signal: it must reach every stream before the close frame.
    const accepted = await publish(herald.url, 'drain', 'last words');
    expect(accepted.status).toBe(202);
    const signalledAt = Date.now();
    herald.signal('SIGTERM');

    let ready = await getFresh(`${herald.url}/health/ready`);
    while (ready.status === 200 && Date.now() - signalledAt < 1_000)
      ready = await getFresh(`${herald.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ draining: { status: 'down' } });
    expect(Date.now() - signalledAt).toBeLessThan(1_000);
    expect((await getFresh(`${herald.url}/health/live`)).status).toBe(200);

    const refused = await getFresh(`${herald.url}/v1/events?topic=drain`, { accept: 'text/event-stream' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('11');
    // Nothing is kept open for a client of a draining instance.
    expect(refused.headers.connection).toBe('close');
    expect(refused.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });

    // Well-behaved clients: the event, then the close frame, then the end of the connection, long before the deadline.
    await Promise.all(clients.map((client) => client.waitForClose(DRAIN_TIMEOUT_MS - 1_000)));
    const retries: number[] = [];
    for (const client of clients) {
      const events = client.events.map((event) => [event.event, event.data]);
      expect(events).toEqual([
        ['message', 'last words'],
        ['close', '{"reason":"draining"}'],
      ]);
      expect(client.retries).toHaveLength(2);
      retries.push(client.retries[1]);
    }
    const stubbornClose = closeFrame.exec(stubborn.received);
    expect(stubbornClose).not.toBeNull();
    expect(stubborn.received.indexOf('data: last words')).toBeLessThan(stubborn.received.indexOf('event: close'));
    retries.push(Number(stubbornClose?.[1]));
    expect(stubborn.serverEndedAt).toBeDefined();

    // Each stream its own slot of the drain window: all different, spread over it.
    expect(new Set(retries).size).toBe(retries.length);
    for (const retry of retries) {
      expect(retry).toBeGreaterThanOrEqual(0);
      expect(retry).toBeLessThan(DRAIN_TIMEOUT_MS);
    }
    const spread = Math.max(...retries) - Math.min(...retries);
    expect(spread).toBeGreaterThanOrEqual((DRAIN_TIMEOUT_MS * (retries.length - 2)) / retries.length);

    // The stuck client holds the drain until the deadline; then it is cut and the process exits 0.
    const exit = await herald.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS - 100);
    expect(exit.at - signalledAt).toBeLessThan(DRAIN_TIMEOUT_MS + 2_000);
    expect(herald.logged('drained')).toEqual([
      expect.objectContaining({ streams: 7, cut: 1, durationMs: expect.any(Number) }),
    ]);
    expect(herald.logged('drained')[0].durationMs).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS - 100);
  });

  it('exits as soon as every client has left, well before the deadline; the dashboard feed is closed too', async () => {
    const herald = await HeraldChild.start({ DRAIN_TIMEOUT_MS: '20000', HEARTBEAT_INTERVAL_MS: '60000' });
    children.push(herald);
    const clients = Array.from({ length: 3 }, () => new RawSseClient(`${herald.url}/v1/events?topic=quick`));
    // An event stream that is not a subscription: the dashboard's admin feed.
    const dashboard = new RawSseClient(`${herald.url}/dashboard/stream`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    sockets.push(...[...clients, dashboard].map((client) => client.socket));
    await Promise.all(clients.map((client) => client.waitForBody((body) => body.startsWith('retry:'))));
    await dashboard.waitForEvents(1);
    // A long-poll waiting for 60 s answers at once, empty, with its cursor.
    const polling = request<{ events: unknown[]; lastEventId: string; reset: boolean }>(
      `${herald.url}/v1/poll?topic=quick&timeout=60`,
    );
    await sleep(200);
    const signalledAt = Date.now();
    herald.signal('SIGINT');
    const poll = await polling;
    expect(Date.now() - signalledAt).toBeLessThan(2_000);
    expect(poll.status).toBe(200);
    expect(poll.body).toMatchObject({ events: [], reset: false, lastEventId: expect.any(String) });
    const exit = await herald.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(2_000);
    for (const client of clients) expect(client.events.map((event) => event.event)).toEqual(['close']);
    expect(dashboard.events[dashboard.events.length - 1]).toMatchObject({
      event: 'close',
      data: '{"reason":"draining"}',
    });
    expect(herald.logged('drained')[0]).toMatchObject({ streams: 3, cut: 0 });
  });

  it('exits at once on a second signal', async () => {
    const herald = await HeraldChild.start({ DRAIN_TIMEOUT_MS: '30000', HEARTBEAT_INTERVAL_MS: '60000' });
    children.push(herald);
    const stubborn = new StubbornClient(herald.url, '/v1/events?topic=second');
    sockets.push(stubborn.socket);
    await eventually(() => stubborn.received.includes('retry:'), 5_000, 'stream open');
    herald.signal('SIGTERM');
    await herald.waitForLog('draining');
    await sleep(200);
    expect(herald.running).toBe(true);
    const secondAt = Date.now();
    herald.signal('SIGINT');
    const exit = await herald.exited;
    expect(exit.at - secondAt).toBeLessThan(1_000);
    expect(exit.code).toBe(130);
    expect(herald.logged('second signal: exiting without waiting for the drain')).toHaveLength(1);
  });
});

describeWith(await redisAvailable(), `Redis at ${REDIS_URL}`)('Drain with the Redis broker', () => {
  const prefix = `herald-drain-test-${process.pid}-${Date.now().toString(36)}:`;
  const children: HeraldChild[] = [];
  const clients: RawSseClient[] = [];
  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(children.map((child) => child.stop()));
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('a client moved off a draining instance resumes on another and loses nothing', async () => {
    const env = {
      BROKER: 'redis',
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      DRAIN_TIMEOUT_MS: '2000',
      HEARTBEAT_INTERVAL_MS: '60000',
    };
    const [a, b] = await Promise.all([HeraldChild.start(env), HeraldChild.start(env)]);
    children.push(a, b);
    for (const herald of [a, b]) {
      // As before this wait gives up quietly: a slow start shows in the stream below.
      const ready = async () => (await request(`${herald.url}/health/ready`)).status === 200;
      await eventually(ready, 5_000, 'ready', 50).catch(() => undefined);
    }
    const onA = new RawSseClient(`${a.url}/v1/events?topic=moving`);
    clients.push(onA);
    await onA.waitForBody((body) => body.startsWith('retry:'));

    const published: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 0; publishing; n++) {
        const answer = await publish(b.url, 'moving', { n });
        expect(answer.status).toBe(202);
        published.push(answer.body.id);
        await sleep(5);
      }
    })();
    await onA.waitForEvents(20, 10_000);
    a.signal('SIGTERM');
    await onA.waitForClose(5_000);
    const beforeClose = onA.events.filter((event) => event.event !== 'close');
    expect(onA.events[onA.events.length - 1]).toMatchObject({ event: 'close', data: '{"reason":"draining"}' });

    const lastSeen = beforeClose[beforeClose.length - 1].id as string;
    const onB = new RawSseClient(`${b.url}/v1/events?topic=moving`, { headers: { 'last-event-id': lastSeen } });
    clients.push(onB);
    await onB.waitForEvents(1, 5_000);
    await sleep(200);
    publishing = false;
    await publisher;
    const last = published[published.length - 1];
    await eventually(() => onB.events.some((event) => event.id === last), 5_000, 'the last event on B');

    const received = [...beforeClose, ...onB.events].map((event) => event.id);
    expect(received).toEqual(published);
    expect((await a.exited).code).toBe(0);
  });
});
