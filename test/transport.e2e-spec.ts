import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { ConnectionRegistry } from '../src/streams/connection-registry.js';
import { lastChunkedBody } from './support/chunked.js';
import {
  ADMIN_TOKEN,
  eventually,
  publish,
  publishOk,
  request,
  sleep,
  startHerald,
  type RunningHerald,
} from './support/herald.js';

/** A raw HTTP/1.1 connection: every byte the server sent, and when it closed. */
class RawConnection {
  readonly socket: Socket;
  bytes = Buffer.alloc(0);
  ended = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => (this.bytes = Buffer.concat([this.bytes, chunk])));
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('close', () => (this.ended = true));
    this.socket.on('error', () => {});
  }

  get text(): string {
    return this.bytes.toString('utf8');
  }

  send(requests: string): this {
    this.socket.write(requests);
    return this;
  }

  close(): void {
    this.socket.destroy();
  }
}

const stream = (path: string, extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n${extra}\r\n`;

describe('Transport: the stream writer at the edges of HTTP/1.1', () => {
  let herald: RunningHerald;
  let registry: ConnectionRegistry;

  beforeAll(async () => {
    herald = await startHerald({ RETRY_MS: '1500', HEARTBEAT_INTERVAL_MS: '60000', MAX_QUEUE_BYTES: '65536' });
    registry = herald.get(ConnectionRegistry);
  });
  afterAll(() => herald.close());

  it('a stream pipelined behind a long-poll starts when the poll has answered, and receives events', async () => {
    const connection = new RawConnection(herald.port).send(
      'GET /v1/poll?topic=pipe%2Fa&timeout=1 HTTP/1.1\r\nHost: x\r\n\r\n' + stream('/v1/events?topic=pipe%2Fa'),
    );
    await eventually(() => /retry: 1500/.test(connection.text) || undefined, 5_000, 'the queued stream starts');
    expect(connection.text).toMatch(/"events":\[\]/);
    const id = await publishOk(herald, 'pipe/a', { n: 1 });
    await eventually(
      () => lastChunkedBody(connection.text).includes(`id: ${id}\ndata: {"n":1}\n\n`) || undefined,
      3_000,
      'event',
    );
    connection.close();
    await eventually(() => registry.active === 0 || undefined, 3_000, 'slot released');
  });

  it('a stream pipelined behind a stream that is kicked starts after the kick and receives events', async () => {
    const connection = new RawConnection(herald.port).send(
      stream('/v1/events?topic=pipe%2Ffirst') + stream('/v1/events?topic=pipe%2Fsecond'),
    );
    const first = await eventually(() => registry.list().find((c) => c.topics.includes('pipe/first')), 3_000, 'first');
    expect(registry.list().some((c) => c.topics.includes('pipe/second'))).toBe(false);
    const kick = await request(`${herald.url}/v1/admin/connections/${first.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(kick.status).toBeLessThan(300);
    await eventually(() => registry.list().find((c) => c.topics.includes('pipe/second')), 3_000, 'second starts');
    expect(connection.text).toContain('event: close\ndata: {"reason":"kicked"}\n\n');
    const id = await publishOk(herald, 'pipe/second', 'hello');
    await eventually(
      () => lastChunkedBody(connection.text).includes(`id: ${id}\ndata: hello\n\n`) || undefined,
      3_000,
      'event',
    );
    connection.close();
    await eventually(() => registry.active === 0 || undefined, 3_000, 'slot released');
  });

  it('a stream queued behind a long-poll whose client leaves gives its slot back', async () => {
    const connection = new RawConnection(herald.port).send(
      'GET /v1/poll?topic=pipe%2Fgone&timeout=2 HTTP/1.1\r\nHost: x\r\n\r\n' + stream('/v1/events?topic=pipe%2Fgone'),
    );
    await eventually(() => registry.active === 1 || undefined, 3_000, 'the queued stream holds a slot');
    connection.close();
    await eventually(() => registry.active === 0 || undefined, 4_000, 'slot released');
    expect(registry.open).toBe(0);
  });

  it('answers a request that says `Connection: close` with `Connection: close`, not keep-alive', async () => {
    const connection = new RawConnection(herald.port).send(stream('/v1/events?topic=conn', 'Connection: close\r\n'));
    await eventually(() => /retry: 1500/.test(connection.text) || undefined, 3_000, 'stream');
    expect(connection.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(connection.text).not.toMatch(/connection: keep-alive/i);
    connection.close();
  });

  it('a cut slow consumer that reads again finds `event: close` (slow-consumer) as the last frame, then the end', async () => {
    const connection = new RawConnection(herald.port).send(stream('/v1/events?topic=slow%2Freader'));
    await eventually(() => /retry: 1500/.test(connection.text) || undefined, 3_000, 'stream');
    connection.socket.pause();
    const payload = 'x'.repeat(60_000);
    const before = registry.counters.closed['slow-consumer'];
    for (let i = 0; i < 600 && registry.counters.closed['slow-consumer'] === before; i++) {
      const answer = await publish(herald, 'slow/reader', { data: payload });
      expect(answer.status).toBe(202);
      if (i % 20 === 19) await sleep(20);
    }
    expect(registry.counters.closed['slow-consumer']).toBe(before + 1);
    connection.socket.resume();
    await eventually(() => connection.ended || undefined, 10_000, 'the stream ends');
    const body = lastChunkedBody(connection.text);
    expect(body.endsWith('event: close\ndata: {"reason":"slow-consumer"}\n\n<end>')).toBe(true);
  });
});
