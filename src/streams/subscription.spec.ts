import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { ReplayResult } from '../broker/event-broker.js';
import type { CloseReason } from './stream-counters.js';
import { Subscription, type SubscriptionHost } from './subscription.js';

/** The registry's side of a subscription, recording what the subscription reports. */
class RecordingHost implements SubscriptionHost {
  now = Date.now();
  turn = 0;
  retryMs = 3000;
  maxQueueBytes = 1 << 20;
  heartbeatIntervalMs = 60_000;
  closed: CloseReason[] = [];
  replay(): Promise<ReplayResult> {
    return Promise.resolve({ events: [], reset: false, head: 'e-0', headSeq: 0 });
  }
  onClosed(_subscription: Subscription, reason: CloseReason): void {
    this.closed.push(reason);
  }
  onBacklogWritten(): void {}
}

const HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };

describe('Subscription.start on a real HTTP/1.1 connection', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** Streams `/events`; answers anything else with a small JSON body. Returns the raw bytes the client got. */
  async function exchange(requests: string, host: RecordingHost): Promise<string> {
    server = createServer((req, res) => {
      if (req.url !== '/events') {
        res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'close' }).end('{"next":true}');
        return;
      }
      const subscription = new Subscription(
        {
          id: 's1',
          ip: '127.0.0.1',
          tenant: undefined,
          topics: ['t'],
          format: 'raw',
          cursor: null,
          lastEventId: undefined,
          tokenExpiresAt: undefined,
          maxAgeAt: undefined,
        },
        host,
      );
      res.once('close', () => subscription.close('client'));
      subscription.start(res, 200, HEADERS, () => res.end());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    let bytes = '';
    socket.on('data', (chunk: Buffer) => (bytes += chunk.toString('latin1')));
    socket.write(requests);
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
    return bytes;
  }

  it('answers HEAD with the stream head only, so a pipelined request that follows gets a clean answer', async () => {
    const host = new RecordingHost();
    const bytes = await exchange('HEAD /events HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n', host);
    const [first, second] = bytes.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(first).toMatch(/content-type: text\/event-stream/i);
    // Nothing after the blank line that ends the head: no `retry:`, no chunk.
    expect(first.endsWith('\r\n\r\n')).toBe(true);
    expect(second).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(second).toContain('{"next":true}');
    expect(host.closed).toEqual(['client']);
  });

  it('starts a GET stream with `retry:` as the first body bytes and keeps it open', async () => {
    const host = new RecordingHost();
    const bytes = await exchange('GET /events HTTP/1.1\r\nHost: x\r\n\r\n', host);
    const body = bytes.slice(bytes.indexOf('\r\n\r\n') + 4);
    // One HTTP chunk holding `retry: 3000\n\n`.
    expect(body).toBe('d\r\nretry: 3000\n\n\r\n');
    expect(host.closed).toEqual([]);
  });
});
