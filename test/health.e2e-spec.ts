import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { HeraldChild } from './support/herald-child.js';
import { RawSseClient } from './support/raw-sse.js';
import {
  PUBLISH_TOKEN,
  eventually,
  probeUntil as probeUntilAt,
  request,
  sleep,
  startHerald,
  type RunningHerald,
} from './support/herald.js';

interface HealthBody {
  status: string;
  info: Record<string, { status: string } & Record<string, unknown>>;
  error: Record<string, { status: string } & Record<string, unknown>>;
  details: Record<string, { status: string } & Record<string, unknown>>;
}

const probe = (url: string, which: 'live' | 'ready' | 'startup') => request<HealthBody>(`${url}/health/${which}`);

/** Probes until the answer has `status`, or fails after `timeoutMs`. */
const probeUntil = (url: string, which: 'live' | 'ready' | 'startup', status: number, timeoutMs = 5_000) =>
  probeUntilAt<HealthBody>(url, which, status, timeoutMs, 20);

describe('Health probes (Terminus)', () => {
  let herald: RunningHerald;
  const clients: RawSseClient[] = [];

  beforeAll(async () => {
    herald = await startHerald({ MAX_CONNECTIONS: '10', CAPACITY_THRESHOLD: '0.3', RETRY_AFTER_SECONDS: '7' });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(() => herald.close());

  it('answers 200 on all three when healthy, with what each checked', async () => {
    const live = await probe(herald.url, 'live');
    expect(live.status).toBe(200);
    expect(live.headers.get('cache-control')).toMatch(/no-cache/);
    expect(live.body).toMatchObject({ status: 'ok', details: { eventLoop: { status: 'up' }, heap: { status: 'up' } } });

    const ready = await probe(herald.url, 'ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      details: {
        draining: { status: 'up' },
        broker: { status: 'up', kind: 'memory' },
        capacity: { status: 'up', active: 0, threshold: 3, max: 10 },
      },
    });

    const startup = await probe(herald.url, 'startup');
    expect(startup.status).toBe(200);
    expect(startup.body).toMatchObject({ status: 'ok', details: { broker: { status: 'up' } } });
  });

  it('is not ready at CAPACITY_THRESHOLD × MAX_CONNECTIONS, while live stays 200; ready again below it', async () => {
    for (let i = 0; i < 3; i++) clients.push(new RawSseClient(`${herald.url}/v1/events?topic=cap`));
    await Promise.all(clients.map((client) => client.waitForBody((body) => body.startsWith('retry:'))));

    const ready = await probe(herald.url, 'ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      status: 'error',
      error: { capacity: { status: 'down', active: 3, threshold: 3, ratio: 0.3 } },
      info: { draining: { status: 'up' }, broker: { status: 'up' } },
    });
    expect((await probe(herald.url, 'live')).status).toBe(200);
    expect((await probe(herald.url, 'startup')).status).toBe(200);
    // The load balancer's view and admission agree: the next subscriber is refused too.
    const refused = await request(`${herald.url}/v1/events?topic=cap`, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('7');

    clients.pop()?.close();
    await probeUntil(herald.url, 'ready', 200);
  });
});

describe('Liveness: a blocked event loop', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald();
  });
  afterAll(() => herald.close());

  it('turns live 503 after a stall beyond the bound; readiness does not depend on it', async () => {
    expect((await probe(herald.url, 'live')).status).toBe(200);
    // The app runs in this process: blocking this thread blocks Herald's event loop.
    const until = Date.now() + 1_300;
    while (Date.now() < until);
    const live = await probeUntil(herald.url, 'live', 503, 2_000);
    expect(live.body).toMatchObject({ status: 'error', error: { eventLoop: { status: 'down' } } });
    expect(live.body.error.eventLoop.stallMs).toBeGreaterThan(1_000);
    expect((await probe(herald.url, 'ready')).status).toBe(200);
  });
});

/**
 * 1,000 subscribers in their own process, spread over 127.0.0.2–11: the
 * measuring process stays idle, as a kubelet is, so the timings are Herald's.
 */
const SUBSCRIBERS = `
const { connect } = require('node:net');
const [port, count] = process.argv.slice(1).map(Number);
let open = 0;
for (let i = 0; i < count; i++) {
  const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.' + (2 + (i % 10)) });
  socket.write('GET /v1/events?topic=load HTTP/1.1\\r\\nHost: x\\r\\nAccept: text/event-stream\\r\\n\\r\\n');
  socket.once('data', () => { if (++open === count) console.log('open'); });
  socket.on('data', () => undefined);
  socket.on('error', (error) => { console.error(error.message); process.exit(1); });
}`;

describe('Probes under 1,000 open streams and a broadcast (spawned process)', () => {
  const STREAMS = 1_000;
  let herald: HeraldChild;
  let subscribers: ChildProcess | undefined;

  beforeAll(async () => {
    herald = await HeraldChild.start({ MAX_CONNECTIONS_PER_IP: '10000', HEARTBEAT_INTERVAL_MS: '60000' });
  });
  afterAll(async () => {
    subscribers?.kill('SIGKILL');
    await herald?.stop();
  });

  it('answers every probe in < 50 ms (median of 20 each) while 1,000 streams receive events', async () => {
    subscribers = spawn(process.execPath, ['-e', SUBSCRIBERS, String(herald.port), String(STREAMS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    subscribers.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => output.includes('open'), 20_000, `${STREAMS} streams open`);
    const ready = await probe(herald.url, 'ready');
    expect(ready.body.details.capacity).toMatchObject({ active: STREAMS });

    const watcher = new RawSseClient(`${herald.url}/v1/events?topic=load`);
    await watcher.waitForBody((body) => body.startsWith('retry:'));
    let publishing = true;
    const publisher = (async () => {
      let n = 0;
      while (publishing) {
        const answer = await request(`${herald.url}/v1/topics/load/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
          json: { data: { n: n++, pad: 'x'.repeat(200) } },
        });
        expect(answer.status).toBe(202);
        await sleep(50);
      }
      return n;
    })();
    try {
      const timings: Record<string, number[]> = { live: [], ready: [], startup: [] };
      for (let round = 0; round < 20; round++) {
        for (const which of ['live', 'ready', 'startup'] as const) {
          const started = performance.now();
          const answer = await probe(herald.url, which);
          timings[which].push(performance.now() - started);
          expect(answer.status).toBe(200);
        }
      }
      publishing = false;
      const published = await publisher;
      // Every broadcast reached the streams while the probes ran.
      await watcher.waitForEvents(published, 10_000);
      for (const which of ['live', 'ready', 'startup']) {
        const sorted = timings[which].sort((a, b) => a - b);
        process.stderr.write(
          `[health] /health/${which} under ${STREAMS} streams and ${published} broadcasts: ` +
            `median ${sorted[10].toFixed(1)} ms, max ${sorted[19].toFixed(1)} ms\n`,
        );
        expect(sorted[10]).toBeLessThan(50);
      }
    } finally {
      publishing = false;
      watcher.close();
    }
  });
});
