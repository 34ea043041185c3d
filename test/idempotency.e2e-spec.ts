import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { signJwt } from '../src/auth/jwt.js';
import { HeraldChild } from './support/herald-child.js';
import {
  ADMIN_TOKEN,
  PUBLISH_TOKEN,
  eventually,
  request,
  sleep,
  startHerald,
  type HttpAnswer,
  type RunningHerald,
} from './support/herald.js';
import type { ParsedEvent } from '../libs/sse/src/parser.js';
import { rawHttp } from './support/raw-http.js';
import { RawSseClient } from './support/raw-sse.js';
import { describeWith, REDIS_URL, redisAvailable } from './support/services.js';

const JWT_SECRET = 'idempotency-test-secret-0123456789';
const available = await redisAvailable();
const prefix = (name: string): string => `herald-idem:${name}:${process.pid}:${Math.random()}:`;
const brokers: [string, boolean, () => Record<string, string>][] = [
  ['memory', true, () => ({})],
  ['redis', available, () => ({ BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: prefix('one') })],
];

interface Publish {
  key?: string;
  token?: string;
  topic?: string;
  /** A batch body (POST /v1/events) instead of one event. */
  batch?: unknown[];
  body?: unknown;
  rawBody?: string;
}

/** One publish through fetch; `key` goes in `Idempotency-Key`. */
function send(url: string, p: Publish): Promise<HttpAnswer<{ id?: string; ids?: string[]; message?: string }>> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${p.token ?? PUBLISH_TOKEN}`,
    'content-type': 'application/json',
  };
  if (p.key !== undefined) headers['idempotency-key'] = p.key;
  const path = p.batch ? '/v1/events' : `/v1/topics/${encodeURIComponent(p.topic ?? 'idem')}/events`;
  const body = p.rawBody ?? JSON.stringify(p.batch ?? p.body ?? { data: { n: 1 } });
  return request(`${url}${path}`, { method: 'POST', headers, body });
}

/** Sends a publish's head and half its body, and the rest when asked: a request that stays in flight. */
function halfSent(port: number, key: string, body: string): { finish(): Promise<{ status: number; body: string }> } {
  const socket = connect({ host: '127.0.0.1', port });
  let raw = '';
  socket.on('data', (chunk: Buffer) => (raw += chunk.toString()));
  socket.write(
    `POST /v1/topics/idem/events HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${PUBLISH_TOKEN}\r\n` +
      `content-type: application/json\r\nidempotency-key: ${key}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body.slice(0, 5)}`,
  );
  return {
    async finish() {
      socket.write(body.slice(5));
      await eventually(() => socket.readableEnded || socket.destroyed, 5_000, 'the answer');
      const [head, text = ''] = raw.split('\r\n\r\n');
      return { status: Number(head.split(' ')[1]), body: text };
    },
  };
}

describe.each(brokers)('Idempotency-Key on the %s broker', (_name, enabled, env) => {
  let herald: RunningHerald;
  let stream: RawSseClient;

  beforeAll(async () => {
    if (!enabled) return;
    herald = await startHerald({ ...env(), JWT_SECRET });
    stream = new RawSseClient(`${herald.url}/v1/events?topic=idem&topic=idem2`, {
      headers: { authorization: `Bearer ${signJwt({ topics: ['idem', 'idem2'] }, JWT_SECRET)}` },
    });
    await stream.waitForBody((body) => body.includes('retry:'));
  });
  afterAll(async () => {
    stream?.close();
    await herald?.close();
  });

  /** Publishes a marker and waits for it: every event published before it is in `stream.events` by then. */
  async function delivered(): Promise<ParsedEvent[]> {
    const marker = await send(herald.url, { body: { type: 'marker', data: Math.random() } });
    await eventually(() => stream.events.some((event) => event.id === marker.body.id), 5_000, 'the marker');
    return stream.events.filter((event) => event.event !== 'marker');
  }

  const maybe = enabled ? it : it.skip;

  maybe('a repeat answers the first status and id, marks itself replayed, and publishes nothing', async () => {
    const before = (await delivered()).length;
    const first = await send(herald.url, { key: 'order-1', body: { type: 'position', data: { lat: 1, lon: 2 } } });
    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    for (let i = 0; i < 3; i++) {
      const again = await send(herald.url, { key: 'order-1', body: { type: 'position', data: { lat: 1, lon: 2 } } });
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    }
    const events = (await delivered()).slice(before);
    expect(events.map((event) => event.id)).toEqual([first.body.id]);
    expect(JSON.parse(events[0].data)).toEqual({ lat: 1, lon: 2 });
  });

  maybe('an equal parsed body is the same request: other whitespace, key order, the default type', async () => {
    const first = await send(herald.url, { key: 'order-2', rawBody: '{"data":{"a":1,"b":[1,{"x":2,"y":3}]}}' });
    expect(first.status).toBe(202);
    for (const rawBody of [
      '{ "data" : { "b" : [1, {"y":3, "x":2}], "a" : 1 } }',
      '{"type":"message","data":{"b":[1,{"x":2,"y":3}],"a":1}}',
    ]) {
      const again = await send(herald.url, { key: 'order-2', rawBody });
      expect([again.status, again.body, again.headers.get('idempotent-replayed')]).toEqual([202, first.body, 'true']);
    }
  });

  maybe('a batch repeat answers the same ids in order', async () => {
    const batch = [
      { topic: 'idem', data: 'one' },
      { topic: 'idem2', type: 'note', data: 'two' },
    ];
    const first = await send(herald.url, { key: 'batch-1', batch });
    expect(first.status).toBe(202);
    expect(first.body.ids).toHaveLength(2);
    const again = await send(herald.url, { key: 'batch-1', batch });
    expect([again.status, again.body, again.headers.get('idempotent-replayed')]).toEqual([202, first.body, 'true']);
    const ids = (await delivered()).map((event) => event.id);
    expect(ids.filter((id) => id !== undefined && first.body.ids?.includes(id))).toEqual(first.body.ids);
  });

  maybe('the same key for another body, topic or route is 422 and publishes nothing', async () => {
    const first = await send(herald.url, { key: 'order-3', body: { data: { n: 1 } } });
    expect(first.status).toBe(202);
    const before = (await delivered()).length;
    const others: Publish[] = [
      { key: 'order-3', body: { data: { n: 2 } } },
      { key: 'order-3', body: { type: 'other', data: { n: 1 } } },
      { key: 'order-3', topic: 'idem2', body: { data: { n: 1 } } },
      { key: 'order-3', batch: [{ topic: 'idem', data: { n: 1 } }] },
    ];
    for (const other of others) {
      const answer = await send(herald.url, other);
      expect(answer.status).toBe(422);
      expect(answer.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
      expect(answer.body.message).toMatch(/Idempotency-Key was used for another request/);
    }
    expect((await delivered()).length).toBe(before);
  });

  maybe('keys belong to a credential: the publish token, the admin token, a JWT sub', async () => {
    const jwt = (claims: Record<string, unknown>): string => signJwt({ publish: ['idem'], ...claims }, JWT_SECRET);
    const body = { data: 'shared key' };
    const byPublishToken = await send(herald.url, { key: 'shared', body });
    const byAdminToken = await send(herald.url, { key: 'shared', body, token: ADMIN_TOKEN });
    const subA = await send(herald.url, { key: 'shared', body, token: jwt({ sub: 'svc-a' }) });
    // A new token for the same subject (other expiry) is the same credential.
    const subAAgain = await send(herald.url, { key: 'shared', body, token: jwt({ sub: 'svc-a', exp: 4_000_000_000 }) });
    const subB = await send(herald.url, { key: 'shared', body, token: jwt({ sub: 'svc-b' }) });
    const noSub = jwt({ tenant: 'x' });
    const noSubFirst = await send(herald.url, { key: 'shared', body, token: noSub });
    const noSubAgain = await send(herald.url, { key: 'shared', body, token: noSub });
    const answers = [byPublishToken, byAdminToken, subA, subAAgain, subB, noSubFirst, noSubAgain];
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202, 202, 202]);
    const ids = answers.map((answer) => answer.body.id);
    expect(new Set([ids[0], ids[1], ids[2], ids[4], ids[5]]).size).toBe(5);
    expect(ids[3]).toBe(ids[2]);
    expect(ids[6]).toBe(ids[5]);
  });

  maybe('a malformed key is 400 with the usual error body and publishes nothing', async () => {
    const before = (await delivered()).length;
    for (const key of ['', 'x'.repeat(256), 'two words', 'tab\there']) {
      const answer = await send(herald.url, { key, body: { data: 1 } });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(answer.body.message).toMatch(/^Idempotency-Key must be 1-255 visible ASCII characters: /);
    }
    // A byte past ASCII (latin1 "é"), sent raw, and the key twice.
    for (const keyLines of ['idempotency-key: caf\xe9\r\n', 'idempotency-key: a\r\nidempotency-key: b\r\n']) {
      const raw = await rawHttp(
        herald.port,
        Buffer.from(
          `POST /v1/topics/idem/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${PUBLISH_TOKEN}\r\n` +
            `content-type: application/json\r\n${keyLines}content-length: 10\r\nconnection: close\r\n\r\n{"data":1}`,
          'latin1',
        ),
      );
      expect(raw.status).toBe(400);
      expect(JSON.parse(raw.body)).toMatchObject({ statusCode: 400 });
    }
    expect((await delivered()).length).toBe(before);
    const ok = await send(herald.url, { key: 'x'.repeat(255), body: { data: 1 } });
    expect(ok.status).toBe(202);
  });

  maybe('a refused request leaves no record: the key publishes once the request is right', async () => {
    for (const [status, bad] of [
      [400, { body: { type: 'x' } }],
      [413, { body: { data: 'x'.repeat(70_000) } }],
      [403, { body: { data: 1 }, token: signJwt({ sub: 'svc-c', publish: ['elsewhere'] }, JWT_SECRET) }],
    ] as const) {
      const key = `refused-${status}`;
      expect((await send(herald.url, { key, ...bad })).status).toBe(status);
      const good = await send(herald.url, { key, body: { data: 'fixed' } });
      expect(good.status).toBe(202);
      expect(good.headers.get('idempotent-replayed')).toBeNull();
    }
  });

  maybe('a repeat while the first is still in flight is 409 with Retry-After; after it, the replay', async () => {
    const body = JSON.stringify({ data: { slow: true } });
    const first = halfSent(herald.port, 'in-flight-1', body);
    await sleep(150);
    const during = await send(herald.url, { key: 'in-flight-1', rawBody: body });
    expect(during.status).toBe(409);
    expect(during.headers.get('retry-after')).toBe('1');
    expect(during.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    const answered = await first.finish();
    expect(answered.status).toBe(202);
    const after = await send(herald.url, { key: 'in-flight-1', rawBody: body });
    expect(after.status).toBe(202);
    expect(after.body).toEqual(JSON.parse(answered.body));
  });

  maybe('browsers may send the header: CORS preflight allows it and exposes Idempotent-Replayed', async () => {
    const answer = await fetch(`${herald.url}/v1/events`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    const publish = await fetch(`${herald.url}/v1/topics/idem/events`, {
      method: 'POST',
      headers: {
        origin: 'https://app.example',
        authorization: `Bearer ${PUBLISH_TOKEN}`,
        'content-type': 'application/json',
      },
      body: '{"data":1}',
    });
    expect(publish.headers.get('access-control-expose-headers')).toContain('Idempotent-Replayed');
  });
});

describe.each(brokers)('IDEMPOTENCY_TTL_MS on the %s broker', (_name, enabled, env) => {
  const maybe = enabled ? it : it.skip;
  maybe('after the TTL the key is free again', async () => {
    const herald = await startHerald({ ...env(), IDEMPOTENCY_TTL_MS: '400' });
    try {
      const first = await send(herald.url, { key: 'short-lived' });
      const soon = await send(herald.url, { key: 'short-lived' });
      expect(soon.body).toEqual(first.body);
      await sleep(600);
      const later = await send(herald.url, { key: 'short-lived' });
      expect(later.status).toBe(202);
      expect(later.headers.get('idempotent-replayed')).toBeNull();
      expect(later.body.id).not.toBe(first.body.id);
    } finally {
      await herald.close();
    }
  });
});

/**
 * A relay in front of one instance that forwards each request, waits for the
 * whole answer (so Herald has published and Redis has the write), and then
 * drops it — the client sees its connection reset — for `dropShare` of them.
 */
class LossyRelay {
  dropped = 0;
  forwarded = 0;
  port = 0;
  private server: Server | undefined;

  constructor(
    private readonly upstreamPort: number,
    private readonly dropShare: number,
  ) {}

  async open(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const headers: IncomingHttpHeaders = { ...req.headers, connection: 'close' };
        const upstream = httpRequest(
          { host: '127.0.0.1', port: this.upstreamPort, method: req.method, path: req.url, headers },
          (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => body.push(chunk));
            answer.on('end', () => {
              if (Math.random() < this.dropShare) {
                this.dropped++;
                req.socket.destroy();
                return;
              }
              this.forwarded++;
              const { connection: _c, 'transfer-encoding': _t, ...rest } = answer.headers;
              res.writeHead(answer.statusCode ?? 502, rest).end(Buffer.concat(body));
            });
          },
        );
        upstream.on('error', () => req.socket.destroy());
        upstream.end(Buffer.concat(chunks));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

/** One POST through a relay on a fresh connection: the answer, or 'lost' when the connection was dropped. */
function post(
  port: number,
  path: string,
  key: string,
  body: string,
): Promise<{ status: number; body: string } | 'lost'> {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: false,
        headers: {
          authorization: `Bearer ${PUBLISH_TOKEN}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', () => resolve('lost'));
      },
    );
    req.on('error', () => resolve('lost'));
    req.end(body);
  });
}

describeWith(available, 'needs Redis at REDIS_URL')('Idempotency-Key across two instances over Redis', () => {
  const keyPrefix = prefix('two');
  let a: HeraldChild;
  let b: HeraldChild;
  const clients: RawSseClient[] = [];

  beforeAll(async () => {
    const env = { BROKER: 'redis', REDIS_URL, REDIS_KEY_PREFIX: keyPrefix };
    [a, b] = await Promise.all([HeraldChild.start(env), HeraldChild.start(env)]);
  }, 60_000);
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('a repeat on the other instance answers the first ids; another body there is 422; Redis expires the record', async () => {
    const first = await send(a.url, { key: 'x-1', body: { data: { n: 1 } } });
    expect(first.status).toBe(202);
    const again = await send(b.url, { key: 'x-1', body: { data: { n: 1 } } });
    expect([again.status, again.body, again.headers.get('idempotent-replayed')]).toEqual([202, first.body, 'true']);
    expect((await send(b.url, { key: 'x-1', body: { data: { n: 2 } } })).status).toBe(422);
    const redis = new Redis(REDIS_URL);
    try {
      const [record] = await redis.keys(`${keyPrefix}idem:*`);
      const ttl = await redis.pttl(record);
      expect(ttl).toBeGreaterThan(500_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    } finally {
      redis.disconnect();
    }
  });

  it('two instances given the same key at once publish once between them', async () => {
    const stream = new RawSseClient(`${a.url}/v1/events?topic=idem`);
    clients.push(stream);
    await stream.waitForBody((body) => body.includes('retry:'));
    const body = JSON.stringify({ data: 'race' });
    // A's request is in flight (half its body sent) when B takes the same key and publishes.
    const onA = halfSent(a.port, 'race-1', body);
    await sleep(100);
    const onB = await send(b.url, { key: 'race-1', rawBody: body });
    expect(onB.status).toBe(202);
    const answered = await onA.finish();
    expect(answered.status).toBe(202);
    expect(JSON.parse(answered.body)).toEqual(onB.body);
    await sleep(300);
    expect(stream.events.map((event) => event.id)).toEqual([onB.body.id]);
  });

  it('a publisher retrying every request 3 times at once over a relay that drops 10 % of answers: each event exactly once', async () => {
    const topics = ['lossy/a', 'lossy/b'];
    const subscribers = [a, b].flatMap((instance) => [
      new RawSseClient(`${instance.url}/v1/events?topic=lossy/a&topic=lossy/b`),
    ]);
    clients.push(...subscribers);
    await Promise.all(subscribers.map((s) => s.waitForBody((text) => text.includes('retry:'))));
    const relays = [new LossyRelay(a.port, 0.1), new LossyRelay(b.port, 0.1)];
    await Promise.all(relays.map((relay) => relay.open()));

    const LOGICAL = 240;
    const answers = new Map<string, string[]>();
    const counts = { lost: 0, conflicts: 0, replayed: 0 };
    let expected = 0;
    /** One attempt retries until it gets an answer that is not 409 (waiting as told) or lost. */
    async function attempt(relay: LossyRelay, key: string, path: string, body: string): Promise<string> {
      for (let tries = 0; tries < 200; tries++) {
        const answer = await post(relay.port, path, key, body);
        if (answer === 'lost') {
          counts.lost++;
          continue;
        }
        if (answer.status === 409) {
          counts.conflicts++;
          await sleep(20);
          continue;
        }
        if (answer.status !== 202) throw new Error(`${key}: ${answer.status} ${answer.body}`);
        return answer.body;
      }
      throw new Error(`${key}: no answer after 200 tries`);
    }
    async function publishLogical(n: number): Promise<void> {
      const key = `lossy-${n}`;
      const batch = n % 4 === 0;
      const path = batch ? '/v1/events' : `/v1/topics/${encodeURIComponent(topics[n % 2])}/events`;
      const body = batch
        ? JSON.stringify([
            { topic: topics[0], data: { n, part: 0 } },
            { topic: topics[1], data: { n, part: 1 } },
          ])
        : JSON.stringify({ data: { n, part: 0 } });
      expected += batch ? 2 : 1;
      // The same request three times at once, to both instances.
      const bodies = await Promise.all([relays[0], relays[1], relays[n % 2]].map((r) => attempt(r, key, path, body)));
      const ids = bodies.map((text) => {
        const parsed = JSON.parse(text) as { id?: string; ids?: string[] };
        return parsed.ids ?? [parsed.id as string];
      });
      expect(ids[1]).toEqual(ids[0]);
      expect(ids[2]).toEqual(ids[0]);
      answers.set(key, ids[0]);
    }
    const queue = Array.from({ length: LOGICAL }, (_, n) => n);
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) await publishLogical(n);
      }),
    );
    await Promise.all(relays.map((relay) => relay.close()));

    const allIds = [...answers.values()].flat();
    expect(new Set(allIds).size).toBe(expected);
    // The relays really lost answers after the write, and retries really met in-flight requests.
    expect(relays[0].dropped + relays[1].dropped).toBeGreaterThan(10);
    expect(counts.lost).toBe(relays[0].dropped + relays[1].dropped);
    // Each live stream and a full replay hold every event exactly once, with the ids the publisher was given.
    const replay = new RawSseClient(`${b.url}/v1/events?topic=lossy/a&topic=lossy/b`, {
      headers: { 'last-event-id': `${allIds[0].split('-')[0]}-0` },
    });
    clients.push(replay);
    for (const client of [...subscribers, replay]) {
      await client.waitForEvents(expected, 15_000);
      await sleep(200);
      const seen = client.events.map((event) => {
        const data = JSON.parse(event.data) as { n: number; part: number };
        return `${data.n}/${data.part}`;
      });
      expect(client.events).toHaveLength(expected);
      expect(new Set(seen).size).toBe(expected);
      expect(new Set(client.events.map((event) => event.id))).toEqual(new Set(allIds));
    }
  }, 120_000);
});
