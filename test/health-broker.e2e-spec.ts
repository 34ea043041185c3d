import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { probeUntil, request, sleep, startHerald, type HttpAnswer, type RunningHerald } from './support/herald.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';
import { TcpProxy } from './support/tcp-proxy.js';

interface HealthBody {
  status: string;
  error: Record<string, { status: string; message?: string }>;
  info: Record<string, { status: string }>;
}

type Probe = 'live' | 'ready' | 'startup';
const probe = (herald: RunningHerald, which: Probe) => request<HealthBody>(`${herald.url}/health/${which}`);

function redisUrlAt(port: number): string {
  const url = new URL(REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

describe('Readiness with the Redis broker unreachable (closed port)', () => {
  let herald: RunningHerald;
  beforeAll(async () => {
    herald = await startHerald({ BROKER: 'redis', REDIS_URL: redisUrlAt(await TcpProxy.closedPort()) });
  });
  afterAll(() => herald?.close());

  it('is not ready and not started, while live stays 200', async () => {
    const ready = await probeUntil<HealthBody>(herald.url, 'ready', 503, 3_000, 50);
    expect(ready.body).toMatchObject({ status: 'error', error: { broker: { status: 'down' } } });
    expect(ready.body.error.broker.message).toMatch(/unreachable/);
    expect((await probe(herald, 'startup')).status).toBe(503);
    expect((await probe(herald, 'live')).status).toBe(200);
  });
});

/**
 * A relay to Redis that can freeze: connections stay open but no byte moves
 * (held, as a stalled network holds them), the way a hung server looks to a client.
 */
class FreezableRelay {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private held: [Socket, Buffer][] = [];
  private frozenNow = false;
  port = 0;

  set frozen(frozen: boolean) {
    this.frozenNow = frozen;
    if (frozen) return;
    for (const [to, chunk] of this.held.splice(0)) if (!to.destroyed) to.write(chunk);
  }

  async open(): Promise<void> {
    const target = new URL(REDIS_URL);
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      for (const [from, to] of [pair, [upstream, client] as const]) {
        from.on('data', (chunk: Buffer) => {
          if (this.frozenNow) this.held.push([to, chunk]);
          else to.write(chunk);
        });
        from.on('close', () => {
          to.destroy();
          this.pairs.delete(pair);
        });
        from.on('error', () => from.destroy());
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describeWith(await redisAvailable(), `Redis at ${REDIS_URL}`)('Readiness with a Redis that hangs', () => {
  const relay = new FreezableRelay();
  let herald: RunningHerald;
  beforeAll(async () => {
    await relay.open();
    herald = await startHerald({
      BROKER: 'redis',
      REDIS_URL: redisUrlAt(relay.port),
      REDIS_KEY_PREFIX: `herald-health-test-${process.pid}:`,
    });
  });
  afterAll(async () => {
    await herald.close();
    await relay.close();
  });

  it('turns ready 503 when Redis stops answering, with probes that answer at once meanwhile, and 200 again after', async () => {
    await probeUntil<HealthBody>(herald.url, 'ready', 200, 5_000, 50);
    expect((await probe(herald, 'startup')).status).toBe(200);

    relay.frozen = true;
    const frozenAt = Date.now();
    const timings: number[] = [];
    let ready: HttpAnswer<HealthBody>;
    do {
      const started = performance.now();
      ready = await probe(herald, 'ready');
      timings.push(performance.now() - started);
      await sleep(50);
    } while (ready.status === 200 && Date.now() - frozenAt < 5_000);
    expect(ready.status).toBe(503);
    expect(ready.body.error.broker).toMatchObject({ status: 'down' });
    // Detected within one ping interval plus the ping timeout, and no probe waited for the hung broker.
    expect(Date.now() - frozenAt).toBeLessThan(3_500);
    expect(Math.max(...timings)).toBeLessThan(500);
    expect((await probe(herald, 'live')).status).toBe(200);
    expect((await probe(herald, 'startup')).status).toBe(200);

    relay.frozen = false;
    await probeUntil<HealthBody>(herald.url, 'ready', 200, 10_000, 50);
  });
});
