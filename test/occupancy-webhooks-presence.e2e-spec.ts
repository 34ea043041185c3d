import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpReceiver, type ReceivedRequest } from './support/alert-receivers.js';
import { HeraldChild } from './support/herald-child.js';
import { ADMIN_TOKEN, request, sleep } from './support/herald.js';
import { RawSseClient } from './support/raw-sse.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';

const GRACE_MS = 300;
const SECRET = 'presence-webhook-secret-0123';

async function addWebhook(herald: HeraldChild, body: Record<string, unknown>): Promise<void> {
  const answer = await request(`${herald.url}/v1/admin/occupancy/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    json: body,
  });
  if (answer.status !== 201) throw new Error(`webhook not created: ${answer.status} ${JSON.stringify(answer.body)}`);
}

/** An open stream on `topics`, once Herald has answered its head. */
async function stream(herald: HeraldChild, ...topics: string[]): Promise<RawSseClient> {
  const query = topics.map((topic) => `topic=${encodeURIComponent(topic)}`).join('&');
  const client = new RawSseClient(`${herald.url}/v1/events?${query}`);
  expect(await client.waitForStatus()).toBe(200);
  return client;
}

const events = (requests: ReceivedRequest[]) =>
  requests.map((received) => {
    const { event, topic } = received.json as { event: string; topic: string };
    return `${topic} ${event}`;
  });

function expectSigned(received: ReceivedRequest): void {
  const timestamp = String(received.headers['x-herald-timestamp']);
  const expected = createHmac('sha256', SECRET).update(`${timestamp}.${received.body}`).digest('hex');
  expect(received.headers['x-herald-signature']).toBe(`sha256=${expected}`);
}

describe('Occupancy webhooks fired by real streams (node dist/main.js, presence counting)', () => {
  let receiver: HttpReceiver;
  let dir: string;
  const children: HeraldChild[] = [];

  beforeAll(async () => {
    receiver = await new HttpReceiver().start();
    dir = mkdtempSync(join(tmpdir(), 'herald-occupancy-presence-'));
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop()));
  });
  afterAll(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first stream of a topic fires occupied, the last one gone for VACATED_GRACE_MS fires vacated', async () => {
    const herald = await HeraldChild.start({
      ALERTS_STORE_PATH: join(dir, 'alerts.json'),
      VACATED_GRACE_MS: String(GRACE_MS),
    });
    children.push(herald);
    await addWebhook(herald, { url: receiver.url('/one'), secret: SECRET, prefix: 'rooms/' });

    const first = await stream(herald, 'rooms/1', 'lobby');
    const second = await stream(herald, 'rooms/1');
    const [occupied] = await receiver.waitFor('/one', 1);
    expect(occupied.json).toEqual({ event: 'occupied', topic: 'rooms/1', at: expect.any(String) });
    expect(Math.abs(Date.parse((occupied.json as { at: string }).at) - Date.now())).toBeLessThan(5_000);
    expectSigned(occupied);

    first.close();
    await sleep(GRACE_MS * 2);
    // One stream is still open: no vacated yet; `lobby` is outside the prefix.
    expect(events(receiver.to('/one'))).toEqual(['rooms/1 occupied']);
    const closed = Date.now();
    second.close();
    const [, vacated] = await receiver.waitFor('/one', 2);
    expect(vacated.json).toMatchObject({ event: 'vacated', topic: 'rooms/1' });
    expect(vacated.at - closed).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expectSigned(vacated);
    expect(vacated.headers['x-herald-delivery']).not.toBe(occupied.headers['x-herald-delivery']);

    const metrics = String((await request<string>(`${herald.url}/metrics`)).body);
    expect(metrics).toMatch(/^herald_presence_webhooks_total\{event="occupied",result="delivered"\} 1$/m);
    expect(metrics).toMatch(/^herald_presence_webhooks_total\{event="vacated",result="delivered"\} 1$/m);
  });
});

const available = await redisAvailable();

describeWith(available, `Redis at ${REDIS_URL}`)('Occupancy webhooks over two instances (BROKER=redis)', () => {
  const prefix = `herald-test-occupancy-presence-${randomUUID().slice(0, 8)}:`;
  let receiver: HttpReceiver;
  const children: HeraldChild[] = [];

  beforeAll(async () => {
    receiver = await new HttpReceiver().start();
  });
  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()));
    await receiver.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('streams of one topic on both instances: one occupied and one vacated in the whole cluster', async () => {
    const env = {
      BROKER: 'redis',
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      SNAPSHOT_INTERVAL_MS: '200',
      VACATED_GRACE_MS: String(GRACE_MS),
    };
    const [a, b] = await Promise.all([HeraldChild.start(env), HeraldChild.start(env)]);
    children.push(a, b);
    // Created on a, heard by b once it re-reads the shared store.
    await addWebhook(a, { url: receiver.url('/cluster'), secret: SECRET });
    const seenBy = async (herald: HeraldChild) =>
      (
        await request<unknown[]>(`${herald.url}/v1/admin/occupancy/webhooks`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).body.length;
    for (let i = 0; i < 25 && (await seenBy(b)) === 0; i++) await sleep(200);

    const onA = await stream(a, 'shared/room');
    const onB = await stream(b, 'shared/room');
    await receiver.waitFor('/cluster', 1);
    onA.close();
    onB.close();
    await receiver.waitFor('/cluster', 2, 10_000);
    await sleep(GRACE_MS + 1_500);
    const received = receiver.to('/cluster');
    expect(events(received)).toEqual(['shared/room occupied', 'shared/room vacated']);
    for (const one of received) expectSigned(one);
  });
});
