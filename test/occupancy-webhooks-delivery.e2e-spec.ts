import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { getToken } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthModule } from '../src/auth/auth.module.js';
import { ConfigModule } from '../src/config/config.module.js';
import { loadConfig } from '../src/config/herald-config.js';
import { JsonLogger } from '../src/logging/json-logger.js';
import {
  OCCUPANCY_SOURCE,
  type OccupancyListener,
  type OccupancySource,
  type OccupancyTransition,
} from '../src/presence/occupancy-source.js';
import {
  PRESENCE_WEBHOOKS_METRIC,
  type PresenceWebhooksCounter,
} from '../src/presence/webhooks/occupancy-webhook-dispatcher.js';
import { OccupancyWebhooksConfig } from '../src/presence/webhooks/occupancy-webhooks.config.js';
import { OccupancyWebhooksModule } from '../src/presence/webhooks/occupancy-webhooks.module.js';
import { HttpReceiver, type ReceivedRequest } from './support/alert-receivers.js';
import { sleep } from './support/herald.js';

/** Presence counting as the webhooks see it: the test says when a topic turns occupied or vacated. */
class FakeOccupancySource implements OccupancySource {
  private readonly listeners = new Set<OccupancyListener>();

  onTransition(listener: OccupancyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: OccupancyTransition['event'], topic: string, at = Date.now()): void {
    for (const listener of this.listeners) listener({ event, topic, at });
  }
}

function fakeSourceModule(source: FakeOccupancySource): DynamicModule {
  return {
    module: class FakePresenceModule {},
    providers: [{ provide: OCCUPANCY_SOURCE, useValue: source }],
    exports: [OCCUPANCY_SOURCE],
  };
}

interface Running {
  source: FakeOccupancySource;
  webhooks: OccupancyWebhooksConfig;
  counts: () => Promise<Record<string, number>>;
  close: () => Promise<void>;
}

/** The webhooks module alone, in a Nest testing module, fed by a fake source; `env` over small test limits. */
async function start(env: Record<string, string> = {}): Promise<Running> {
  const config = loadConfig({
    ALERTS_STORE_PATH: join(mkdtempSync(join(tmpdir(), 'herald-occupancy-')), 'alerts.json'),
    OCCUPANCY_WEBHOOK_TIMEOUT_MS: '1000',
    OCCUPANCY_WEBHOOK_RETRIES: '2',
    ...env,
  });
  const source = new FakeOccupancySource();
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), AuthModule, OccupancyWebhooksModule.forSource(fakeSourceModule(source))],
  }).compile();
  await moduleRef.init();
  const counter = moduleRef.get<PresenceWebhooksCounter>(getToken(PRESENCE_WEBHOOKS_METRIC));
  const counts = async () =>
    Object.fromEntries(
      (await counter.get()).values.map(({ labels, value }) => [`${labels.event}/${labels.result}`, value]),
    );
  return { source, webhooks: moduleRef.get(OccupancyWebhooksConfig), counts, close: () => moduleRef.close() };
}

const byTopicAndEvent = (requests: ReceivedRequest[]) =>
  requests.map((request) => {
    const { event, topic } = request.json as { event: string; topic: string };
    return `${topic} ${event}`;
  });

describe('Occupancy webhooks: delivery to a real HTTP receiver', () => {
  let receiver: HttpReceiver;
  let running: Running | undefined;

  beforeAll(async () => {
    Logger.overrideLogger(new JsonLogger('error', () => undefined));
    receiver = await new HttpReceiver().start();
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
    register.clear();
  });
  afterAll(async () => {
    Logger.overrideLogger(new ConsoleLogger());
    await receiver.close();
  });

  it('POSTs {event, topic, at} with the timestamp, delivery id and a signature a receiver can verify', async () => {
    running = await start();
    const secret = 'occupancy-shared-secret';
    await running.webhooks.create({ url: receiver.url('/signed'), secret });
    await running.webhooks.create({ url: receiver.url('/plain') });
    const at = Date.parse('2026-11-18T09:24:00.123Z');
    running.source.emit('occupied', 'rooms/42', at);

    const [signed] = await receiver.waitFor('/signed', 1);
    expect(signed.json).toEqual({ event: 'occupied', topic: 'rooms/42', at: '2026-11-18T09:24:00.123Z' });
    expect(signed.headers['content-type']).toBe('application/json');
    const timestamp = String(signed.headers['x-herald-timestamp']);
    expect(Math.abs(Number(timestamp) - Date.now())).toBeLessThan(5_000);
    expect(signed.headers['x-herald-delivery']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    // As a receiver checks it: HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret.
    const expected = createHmac('sha256', secret).update(`${timestamp}.${signed.body}`).digest('hex');
    expect(signed.headers['x-herald-signature']).toBe(`sha256=${expected}`);

    const [plain] = await receiver.waitFor('/plain', 1);
    expect(plain.body).toBe(signed.body);
    expect(plain.headers['x-herald-signature']).toBeUndefined();
    expect(plain.headers['x-herald-delivery']).not.toBe(signed.headers['x-herald-delivery']);
    await sleep(50);
    expect(await running.counts()).toEqual({ 'occupied/delivered': 2 });
  });

  it('retries a 500 with the same delivery id, and never lets a later transition of the topic overtake it', async () => {
    running = await start();
    receiver.on('/ordered', 500, 200);
    await running.webhooks.create({ url: receiver.url('/ordered') });
    running.source.emit('occupied', 'rooms/1');
    running.source.emit('vacated', 'rooms/1');
    running.source.emit('occupied', 'rooms/2');

    const requests = await receiver.waitFor('/ordered', 4);
    // rooms/2 is not held up by rooms/1's retry; rooms/1's vacated waits for its occupied to get through.
    expect(byTopicAndEvent(requests)).toEqual([
      'rooms/1 occupied',
      'rooms/2 occupied',
      'rooms/1 occupied',
      'rooms/1 vacated',
    ]);
    expect(requests[2].headers['x-herald-delivery']).toBe(requests[0].headers['x-herald-delivery']);
    expect(requests[2].at - requests[0].at).toBeGreaterThanOrEqual(370);
    expect(Number(requests[2].headers['x-herald-timestamp'])).toBeGreaterThan(
      Number(requests[0].headers['x-herald-timestamp']),
    );
    await sleep(50);
    expect(await running.counts()).toEqual({ 'occupied/delivered': 2, 'vacated/delivered': 1 });
  });

  it('follows Retry-After on a 429, gives up at once on a 410, and after its retries on a 503', async () => {
    running = await start({ OCCUPANCY_WEBHOOK_RETRIES: '1' });
    receiver.on('/busy', { status: 429, headers: { 'retry-after': '1' } }, 200);
    receiver.on('/gone', 410);
    receiver.on('/down', 503);
    for (const path of ['/busy', '/gone', '/down']) await running.webhooks.create({ url: receiver.url(path) });
    running.source.emit('vacated', 'rooms/7');

    const busy = await receiver.waitFor('/busy', 2);
    expect(busy[1].at - busy[0].at).toBeGreaterThanOrEqual(990);
    await receiver.waitFor('/down', 2);
    await sleep(100);
    expect(receiver.to('/gone')).toHaveLength(1);
    expect(receiver.to('/down')).toHaveLength(2);
    expect(await running.counts()).toEqual({ 'vacated/delivered': 1, 'vacated/failed': 2 });
  });

  it('sends a webhook only the transitions of topics that start with its prefix', async () => {
    running = await start();
    await running.webhooks.create({ url: receiver.url('/rooms'), prefix: 'rooms/' });
    await running.webhooks.create({ url: receiver.url('/all'), prefix: '' });
    for (const topic of ['lobby', 'rooms/9', 'roomsX', 'rooms/9/chat']) running.source.emit('occupied', topic);

    const all = await receiver.waitFor('/all', 4);
    expect(byTopicAndEvent(all).sort()).toEqual(
      ['lobby occupied', 'rooms/9 occupied', 'roomsX occupied', 'rooms/9/chat occupied'].sort(),
    );
    await sleep(100);
    expect(byTopicAndEvent(receiver.to('/rooms')).sort()).toEqual(['rooms/9 occupied', 'rooms/9/chat occupied']);
  });

  it('bounds the queue per webhook: past it the oldest waiting delivery is dropped and counted; the source never waits', async () => {
    running = await start({
      OCCUPANCY_WEBHOOK_QUEUE_SIZE: '2',
      OCCUPANCY_WEBHOOK_RETRIES: '0',
      OCCUPANCY_WEBHOOK_TIMEOUT_MS: '500',
    });
    receiver.on('/slow', 'hang', 200);
    await running.webhooks.create({ url: receiver.url('/slow') });
    const events = ['occupied', 'vacated', 'occupied', 'vacated', 'occupied'] as const;
    const started = performance.now();
    events.forEach((event, i) => running?.source.emit(event, 'rooms/5', 1_000 * (i + 1)));
    expect(performance.now() - started).toBeLessThan(20);
    expect(receiver.to('/slow')).toHaveLength(0);

    // The first hangs until its timeout; of the four behind it, the queue (2) kept the newest two.
    const requests = await receiver.waitFor('/slow', 3);
    expect(requests.map((request) => (request.json as { at: string }).at)).toEqual([
      new Date(1_000).toISOString(),
      new Date(4_000).toISOString(),
      new Date(5_000).toISOString(),
    ]);
    await sleep(50);
    expect(await running.counts()).toEqual({
      'occupied/failed': 1,
      'vacated/dropped': 1,
      'occupied/dropped': 1,
      'vacated/delivered': 1,
      'occupied/delivered': 1,
    });
  });

  it('drops what still waits for a webhook that is deleted, and sends a replaced one to its new URL', async () => {
    running = await start({ OCCUPANCY_WEBHOOK_RETRIES: '0', OCCUPANCY_WEBHOOK_TIMEOUT_MS: '500' });
    receiver.on('/doomed', 'hang');
    const doomed = await running.webhooks.create({ url: receiver.url('/doomed') });
    const moved = await running.webhooks.create({ url: receiver.url('/old') });
    receiver.on('/old', 'hang');
    running.source.emit('occupied', 'rooms/3');
    running.source.emit('vacated', 'rooms/3');
    await receiver.waitFor('/doomed', 1);
    await receiver.waitFor('/old', 1);
    await running.webhooks.remove(doomed.id);
    await running.webhooks.replace(moved.id, { url: receiver.url('/new') });

    const [next] = await receiver.waitFor('/new', 1);
    expect(next.json).toMatchObject({ event: 'vacated', topic: 'rooms/3' });
    await sleep(100);
    expect(receiver.to('/doomed')).toHaveLength(1);
    expect(await running.counts()).toEqual({ 'occupied/failed': 2, 'vacated/dropped': 1, 'vacated/delivered': 1 });
  });
});
