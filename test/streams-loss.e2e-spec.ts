import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { EVENT_BROKER, type EventBroker } from '../src/broker/event-broker.js';
import { RawSseClient } from './support/raw-sse.js';
import { PUBLISH_TOKEN, eventually, publishOk, request, startHerald, type RunningHerald } from './support/herald.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

const available = await redisAvailable();

/**
 * When the live feed cannot recover what a process missed (Redis trimmed it
 * while this instance was cut off), an open stream is told in feed order with
 * a `reset` frame, and its resume id never moves backwards.
 */
describeWith(available, `Redis at ${REDIS_URL}`)('Streams: history lost while a stream is open (Redis broker)', () => {
  const prefix = `herald-loss:${process.pid}:${Date.now().toString(36)}:`;
  const proxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
  let cutOff: RunningHerald;
  let other: RunningHerald;

  beforeAll(async () => {
    await proxy.open();
    const viaProxy = new URL(REDIS_URL);
    viaProxy.port = String(proxy.port);
    const env = { BROKER: 'redis', REDIS_KEY_PREFIX: prefix, HISTORY_SIZE: '3', HEARTBEAT_INTERVAL_MS: '200' };
    cutOff = await startHerald({ ...env, REDIS_URL: viaProxy.toString() });
    other = await startHerald({ ...env, REDIS_URL });
  });

  afterAll(async () => {
    await cutOff?.close();
    await other?.close();
    await proxy.cut();
  });

  it('a stream on a trimmed topic gets one reset, in order, then live events', async () => {
    const broker = cutOff.get<EventBroker>(EVENT_BROKER);
    const both = new RawSseClient(`${cutOff.url}/v1/events?topic=busy&topic=quiet`);
    const quietOnly = new RawSseClient(`${cutOff.url}/v1/events?topic=quiet`);
    await Promise.all([both, quietOnly].map((c) => c.waitForBody((body) => body.startsWith('retry:'))));
    const first = await publishOk(other, 'busy', 'before');
    await both.waitForEvents(1);

    await proxy.cut();
    await eventually(() => broker.state?.().liveFeed === 'down', 8_000, 'the feed to notice the outage');
    // While it is cut off: new streams are refused (503), open ones stay open with heartbeats.
    const refused = await request(`${cutOff.url}/v1/events?topic=quiet`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    const heartbeats = both.comments.length;
    await eventually(() => both.comments.length > heartbeats, 3_000, 'heartbeats during the outage');
    // More than Redis keeps for a topic (MAXLEN ~ trims whole stream nodes of ~100 entries).
    const missed = await request(`${other.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
      json: Array.from({ length: 300 }, (_, i) => ({ topic: 'busy', data: `missed ${i}` })),
    });
    expect(missed.status).toBe(202);
    const quiet = await publishOk(other, 'quiet', 'kept');

    await proxy.open();
    await eventually(() => broker.state?.().liveFeed === 'live', 10_000, 'the feed to come back');
    await both.waitForEvents(3, 5_000);
    const after = await publishOk(other, 'busy', 'after');
    await both.waitForEvents(4, 5_000);

    // quiet arrives (nothing of it was lost); busy's missed events are gone: one reset says so.
    expect(both.events.map((e) => [e.event, e.id])).toEqual([
      ['message', first],
      ['message', quiet],
      ['reset', quiet],
      ['message', after],
    ]);
    expect(JSON.parse(both.events[2].data)).toEqual({ reason: 'history-lost', lastEventId: quiet });
    // A stream that only holds an untouched topic hears nothing of it.
    await quietOnly.waitForEvents(1);
    expect(quietOnly.events.map((e) => e.event)).toEqual(['message']);
    both.close();
    quietOnly.close();
  }, 40_000);
});
