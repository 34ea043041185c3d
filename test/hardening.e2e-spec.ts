import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { HeraldChild } from './support/herald-child.js';
import { ADMIN_TOKEN, eventually, PUBLISH_TOKEN, request, sleep } from './support/herald.js';
import { rawHttp } from './support/raw-http.js';
import { RawSseClient } from './support/raw-sse.js';

/** The keys class-transformer used to drop, at every depth, with values that look like their namesakes. */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
];

/** JSON text (not an object literal: `__proto__` must be a plain key) holding every hostile key, nested. */
function hostileJson(label: string): string {
  const inner = HOSTILE_KEYS.map((key, i) => `${JSON.stringify(key)}:{"n":${i},"polluted":true}`).join(',');
  const level = HOSTILE_KEYS.map((key) => `${JSON.stringify(key)}:{${inner}}`).join(',');
  return (
    `{"label":${JSON.stringify(label)},"constructor":"Ferrari","driver":"Leclerc","prototype":"RB20",` +
    `"deep":[{"a":{${level}}}],${level},"num":1.5e3,"big":12345678901234567890,"s":"\\u00e9\\n"}`
  );
}

/** What Herald promises to deliver for a `data` JSON text: the bytes of JSON.stringify of what was parsed. */
const exact = (dataJson: string): string => JSON.stringify(JSON.parse(dataJson));

const SECRET = 'hardening-test-secret-0123456789abcdef';

const auth = { authorization: `Bearer ${PUBLISH_TOKEN}`, 'content-type': 'application/json' };

describe('Hardening (dist/main.js)', () => {
  let herald: HeraldChild;
  const clients: RawSseClient[] = [];
  const open = (path: string, headers?: Record<string, string>, localAddress?: string): RawSseClient => {
    const client = new RawSseClient(`${herald.url}${path}`, { headers, localAddress });
    clients.push(client);
    return client;
  };
  const post = (path: string, body: string, headers: Record<string, string> = auth) =>
    request<{ id?: string; ids?: string[]; message: string; statusCode: number }>(`${herald.url}${path}`, {
      method: 'POST',
      headers,
      body,
    });

  beforeAll(async () => {
    herald = await HeraldChild.start({
      MAX_POLLS_PER_IP: '3',
      MAX_POLLS: '5',
      RETRY_AFTER_SECONDS: '7',
      SNAPSHOT_INTERVAL_MS: '3600000',
      LEAK_WINDOW_MS: '36000000',
    });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(() => herald.stop());

  const aboveWarn = () => herald.logs.filter((line) => line.level === 'error');

  describe('event data is delivered exactly as parsed (issue 14.1)', () => {
    it('single and batch, over raw and envelope streams, poll and replay after a reconnect', async () => {
      const raw = open('/v1/events?topic=fid/a&topic=fid/b');
      const envelope = open('/v1/events?topic=fid/a&topic=fid/b&format=envelope');
      await raw.waitForBody((body) => body.startsWith('retry:'));
      await envelope.waitForBody((body) => body.startsWith('retry:'));
      const before = (await post('/v1/topics/fid%2Fa/events', '{"data":"before"}')).body.id as string;

      const one = hostileJson('one');
      const single = await post('/v1/topics/fid%2Fa/events', `{"type":"car","data":${one}}`);
      expect(single.status).toBe(202);
      const two = hostileJson('two');
      const three = '{"constructor":"Red Bull","prototype":"RB20"}';
      const batch = await post(
        '/v1/events',
        `[{"topic":"fid/b","data":${two}},{"topic":"fid/a","data":${three}},{"topic":"fid/b","data":null}]`,
      );
      expect(batch.status).toBe(202);
      const expected = [exact(one), exact(two), exact(three), 'null'];
      expect(expected[2]).toBe('{"constructor":"Red Bull","prototype":"RB20"}');

      const rawEvents = (await raw.waitForEvents(5)).slice(1);
      expect(rawEvents.map((event) => event.data)).toEqual(expected);
      const envelopes = (await envelope.waitForEvents(5)).slice(1);
      for (const [i, event] of envelopes.entries()) {
        expect(event.data).toMatch(new RegExp(`^\\{"topic":"fid/[ab]","type":"(car|message)","data":`));
        expect(
          event.data.endsWith(`"data":${expected[i]},"ts":${(JSON.parse(event.data) as { ts: number }).ts}}`),
        ).toBe(true);
      }

      // Replay: a reconnect with Last-Event-ID gets the same bytes.
      const resumed = open('/v1/events?topic=fid/a&topic=fid/b', { 'last-event-id': before });
      expect((await resumed.waitForEvents(4)).map((event) => event.data)).toEqual(expected);
      const resumedEnvelope = open('/v1/events?topic=fid/a&topic=fid/b&format=envelope', { 'last-event-id': before });
      expect((await resumedEnvelope.waitForEvents(4)).map((event) => event.data)).toEqual(
        envelopes.map((event) => event.data),
      );

      // Poll: the answer's text holds each data's exact bytes.
      const polled = await fetch(`${herald.url}/v1/poll?topic=fid/a&topic=fid/b&lastEventId=${before}`);
      const text = await polled.text();
      for (const data of expected) expect(text).toContain(`"data":${data},"ts":`);
      const parsed = JSON.parse(text) as { events: { data: unknown }[] };
      expect(parsed.events.map((event) => JSON.stringify(event.data))).toEqual(expected);
      // The keys are own keys, not prototypes: `__proto__` is data.
      const first = parsed.events[0].data as Record<string, unknown>;
      expect(Object.hasOwn(first, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    });

    it('a __proto__ key changes no prototype in Herald: later events and answers are untouched', async () => {
      const id = (await post('/v1/topics/proto/events', '{"data":{"__proto__":{"isAdmin":true,"type":"x"}}}')).body
        .id as string;
      const plain = await post('/v1/topics/proto/events', '{"data":{}}');
      expect(plain.status).toBe(202);
      const polled = await fetch(`${herald.url}/v1/poll?topic=proto&lastEventId=${id}`);
      expect(await polled.text()).toMatch(/"data":\{\},"ts":/);
      const top = await post('/v1/topics/proto/events', '{"__proto__":{"data":1}}');
      expect(top.status).toBe(400);
      expect(top.body.message).toBe('the body: unknown field "__proto__" (allowed: type, data)');
    });
  });

  describe('deep nesting is a 400 naming the limit, never a 500 (issue 14.2)', () => {
    const nest = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

    it.each([
      ['single, 2,000 levels (4 KB): 400', '/v1/topics/deep/events', (d: string) => `{"data":${d}}`, 2_000, 400],
      ['single, 7,500 levels (15 KB): 400', '/v1/topics/deep/events', (d: string) => `{"data":${d}}`, 7_500, 400],
      ['batch, 2,000 levels: 400', '/v1/events', (d: string) => `[{"topic":"deep","data":${d}}]`, 2_000, 400],
      [
        'single, 65 levels in all (one past the limit): 400',
        '/v1/topics/deep/events',
        (d: string) => `{"data":${d}}`,
        64,
        400,
      ],
      [
        'single, over MAX_EVENT_BYTES and deep: 413',
        '/v1/topics/deep/events',
        (d: string) => `{"data":${d}}`,
        40_000,
        413,
      ],
      [
        'batch, over MAX_EVENT_BYTES and deep: 413',
        '/v1/events',
        (d: string) => `[{"topic":"deep","data":${d}}]`,
        40_000,
        413,
      ],
      ['admin alert rule, 3,000 levels: 400', '/v1/admin/alerts/rules', (d: string) => `{"name":${d}}`, 3_000, 400],
    ])('%s', async (_, path, wrap, depth, status) => {
      const headers = path.startsWith('/v1/admin') ? { ...auth, authorization: `Bearer ${ADMIN_TOKEN}` } : auth;
      const answer = await post(path, wrap(nest(depth)), headers);
      expect(answer.status).toBe(status);
      expect(answer.body.message).toMatch(/more than 64 levels deep \(at most 64\)/);
      expect(aboveWarn()).toEqual([]);
    });

    it('64 levels in all are accepted and delivered as sent', async () => {
      const client = open('/v1/events?topic=deep-ok');
      await client.waitForBody((body) => body.startsWith('retry:'));
      expect((await post('/v1/topics/deep-ok/events', `{"data":${nest(63)}}`)).status).toBe(202);
      expect((await client.waitForEvents(1))[0].data).toBe(nest(63));
    });
  });

  describe('long-polls are bounded per IP and in total (issue 14.4)', () => {
    const pollFrom = (localAddress: string, waitMs = 8_000) =>
      rawHttp(herald.port, `GET /v1/poll?topic=lp&timeout=1 HTTP/1.1\r\nHost: x\r\n\r\n`, { localAddress, waitMs });

    const holdPolls = (localAddress: string, count: number): Socket[] =>
      Array.from({ length: count }, () => {
        const socket = connect({ host: '127.0.0.1', port: herald.port, localAddress });
        socket.on('error', () => undefined);
        socket.write('GET /v1/poll?topic=lp-hold&timeout=30 HTTP/1.1\r\nHost: x\r\n\r\n');
        return socket;
      });

    it('429 past MAX_POLLS_PER_IP, 503 past MAX_POLLS, with Retry-After and the JSON body; never in `active`', async () => {
      const two = holdPolls('127.0.0.2', 3);
      await sleep(300);
      const refused = await pollFrom('127.0.0.2', 3_000);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('7');
      expect(JSON.parse(refused.body)).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'too many long-polls from this IP address',
      });
      const three = holdPolls('127.0.0.3', 2);
      await sleep(300);
      const full = await pollFrom('127.0.0.4', 3_000);
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBe('7');
      expect(JSON.parse(full.body)).toMatchObject({
        statusCode: 503,
        message: 'too many long-polls waiting; retry later',
      });
      const status = await request<{ connections: { active: number } }>(`${herald.url}/status`);
      expect(status.body.connections.active).toBe(0);
      for (const socket of [...two, ...three]) socket.destroy();
    });

    it('a poll gives its slot back when it answers or the client leaves: no drift after 200 aborts', async () => {
      for (let round = 0; round < 20; round++) {
        const sockets = holdPolls('127.0.0.5', 10);
        await sleep(round % 2 === 0 ? 5 : 60);
        for (const socket of sockets) socket.destroy();
      }
      await sleep(500);
      // Exactly MAX_POLLS_PER_IP polls fit again: nothing leaked, nothing double-released.
      const held = holdPolls('127.0.0.5', 3);
      await sleep(300);
      expect((await pollFrom('127.0.0.5')).status).toBe(429);
      for (const socket of held) socket.destroy();
      await sleep(300);
      // Answered polls (timeout) release too.
      const answered = await Promise.all([pollFrom('127.0.0.6'), pollFrom('127.0.0.6'), pollFrom('127.0.0.6')]);
      expect(answered.map((answer) => answer.status)).toEqual([200, 200, 200]);
      const again = await Promise.all([pollFrom('127.0.0.6'), pollFrom('127.0.0.6'), pollFrom('127.0.0.6')]);
      expect(again.map((answer) => answer.status)).toEqual([200, 200, 200]);
    }, 30_000);
  });

  describe('half-sent requests are bounded per IP and in time (issue 14.4)', () => {
    it('one IP holding 40 half-sent heads keeps at most 16 after 2 s, none after 10 s; other IPs are served', async () => {
      const sockets = Array.from({ length: 40 }, () => {
        const socket = connect({ host: '127.0.0.1', port: herald.port, localAddress: '127.0.0.7' });
        socket.on('error', () => undefined);
        socket.write('GET /v1/poll?topic=slow HTTP/1.1\r\nHost: x\r\n');
        return socket;
      });
      const dripping = setInterval(() => {
        for (const socket of sockets) if (!socket.destroyed) socket.write('X-Drip: 1\r\n');
      }, 500);
      try {
        const live = () => sockets.filter((socket) => !socket.destroyed && !socket.readableEnded).length;
        const closedSlow = await eventually(() => (live() <= 16 ? live() : undefined), 6_000, 'slow sockets cut');
        expect(closedSlow).toBeGreaterThan(0);
        // Another client is served at once, from another IP and from the same one (a fast request).
        expect((await request(`${herald.url}/health/live`)).status).toBe(200);
        const sameIp = await rawHttp(herald.port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
          localAddress: '127.0.0.7',
        });
        expect(sameIp.status).toBe(200);
        await eventually(() => live() === 0, 12_000, 'every half-sent head closed');
      } finally {
        clearInterval(dripping);
        for (const socket of sockets) socket.destroy();
      }
    }, 30_000);

    it('a burst of 300 fast connections from one IP is never refused', async () => {
      const answers = await Promise.all(
        Array.from({ length: 300 }, () =>
          rawHttp(herald.port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', {
            localAddress: '127.0.0.8',
            waitMs: 10_000,
          }),
        ),
      );
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
    }, 20_000);
  });

  describe('protocol details (issue 14.5)', () => {
    const close = 'Connection: close\r\n';
    it.each([
      [
        'publish 202',
        `POST /v1/topics/cc/events HTTP/1.1\r\nHost: x\r\n${close}Authorization: Bearer ${PUBLISH_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"data":1}`,
        202,
      ],
      [
        'publish 400',
        `POST /v1/topics/cc/events HTTP/1.1\r\nHost: x\r\n${close}Authorization: Bearer ${PUBLISH_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{"a`,
        400,
      ],
      ['poll 200', `GET /v1/poll?topic=cc&timeout=1 HTTP/1.1\r\nHost: x\r\n${close}\r\n`, 200],
      ['admin 401', `GET /v1/admin/connections HTTP/1.1\r\nHost: x\r\n${close}\r\n`, 401],
      [
        'admin 200',
        `GET /v1/admin/connections HTTP/1.1\r\nHost: x\r\n${close}Authorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`,
        200,
      ],
      ['unknown 404', `GET /nope HTTP/1.1\r\nHost: x\r\n${close}\r\n`, 404],
    ])('Connection: close on %s is answered Connection: close, then closed', async (_, text, status) => {
      const answer = await rawHttp(herald.port, text);
      expect(answer.status).toBe(status);
      expect(answer.headers.connection).toBe('close');
      expect(answer.closed).toBe(true);
    });

    it('Transfer-Encoding: gzip, chunked on a publish is 501, never read as plain JSON', async () => {
      const body = '{"data":"plain"}';
      const answer = await rawHttp(
        herald.port,
        `POST /v1/topics/te/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${PUBLISH_TOKEN}\r\n` +
          `Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n` +
          `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      );
      expect(answer.status).toBe(501);
      expect(JSON.parse(answer.body)).toMatchObject({
        statusCode: 501,
        message: expect.stringMatching(/gzip, chunked/),
      });
      const polled = await request<{ events: unknown[] }>(`${herald.url}/v1/poll?topic=te&lastEventId=0-0&timeout=1`);
      expect(polled.body.events).toEqual([]);
    });

    it('more than 1,000 query parameters is a 400, 1,000 are read', async () => {
      const filler = Array.from({ length: 998 }, (_, i) => `x${i}=1`).join('&');
      const ok = await request(`${herald.url}/v1/poll?${filler}&topic=q&timeout=1`);
      expect(ok.status).toBe(200);
      const over = await request<{ message: string }>(`${herald.url}/v1/poll?${filler}&x=2&topic=q&timeout=1`);
      expect(over.status).toBe(400);
      expect(over.body.message).toBe('too many query parameters: 1001, at most 1000');
    });

    it('JSON answers carry X-Content-Type-Options: nosniff', async () => {
      for (const path of ['/status', '/v1/poll', '/nope', '/health/ready']) {
        const answer = await request(`${herald.url}${path}`);
        expect(answer.headers.get('content-type')).toMatch(/application\/json/);
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      }
      const published = await post('/v1/topics/ns/events', '{"data":1}');
      expect(published.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('/status perIp agrees with active when read, not a snapshot behind', async () => {
      const streams = Array.from({ length: 3 }, () => open('/v1/events?topic=status', {}, '127.0.0.9'));
      for (const stream of streams) await stream.waitForBody((body) => body.startsWith('retry:'));
      const status = await request<{ connections: { active: number; perIp: Record<string, number> } }>(
        `${herald.url}/status`,
      );
      expect(status.body.connections.active).toBe(3);
      expect(status.body.connections.perIp).toEqual({ '127.0.0.9': 3 });
    });
  });

  describe('clear errors (issue 15.4)', () => {
    it('an unencoded slash in the topic is a JSON 404 showing the encoded form', async () => {
      const answer = await post('/v1/topics/trucks/42/events', '{"data":1}');
      expect(answer.status).toBe(404);
      expect(answer.body.message).toMatch(/one URL-encoded path segment/);
      expect(answer.body.message).toContain('/v1/topics/trucks%2F42/events');
    });

    it.each([
      ['/v1/topics/t/events', '"hello"', 'the body must be a JSON object {"type"?, "data"}, got a string'],
      ['/v1/topics/t/events', '[1]', 'the body must be a JSON object {"type"?, "data"}, got an array'],
      [
        '/v1/events',
        '"hello"',
        'the body must be a JSON array of events [{"topic", "type"?, "data"}, …], got a string',
      ],
      ['/v1/events', '["x"]', 'event 0 must be a JSON object {"topic", "type"?, "data"}, got a string'],
      ['/v1/topics/t/events', '{}', 'the body: data is required (any JSON value, null included)'],
      [
        '/v1/topics/t/events',
        '{"data":1,"type":"a b"}',
        'the body: type must be 1-64 characters from A-Z a-z 0-9 _ - . :',
      ],
      [
        '/v1/events',
        '[{"topic":"a","data":1},{"data":1}]',
        'event 1: topic must be 1-256 characters from A-Z a-z 0-9 _ - . : / ~ @',
      ],
      [
        '/v1/topics/t/events',
        '{"data":1',
        "the body is not valid JSON: Expected ',' or '}' after property value in JSON at position 9",
      ],
    ])('POST %s %s → 400 %j', async (path, body, message) => {
      const answer = await post(path, body);
      expect(answer.status).toBe(400);
      const { message: said, ...rest } = answer.body as { message: string };
      expect(rest).toEqual({ statusCode: 400, error: 'Bad Request' });
      // V8 in Node 22+ ends JSON.parse's message with "(line L column C)"; the rest is the same.
      expect(said.replace(/ \(line \d+ column \d+\)$/, '')).toBe(message);
    });

    it('data: null is accepted and delivered as null', async () => {
      const client = open('/v1/events?topic=nul');
      await client.waitForBody((body) => body.startsWith('retry:'));
      expect((await post('/v1/topics/nul/events', '{"data":null}')).status).toBe(202);
      expect((await client.waitForEvents(1))[0].data).toBe('null');
    });

    it('validation errors carry one message string naming the field', async () => {
      const answer = await request<{ message: unknown }>(`${herald.url}/v1/admin/alerts/rules`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        json: { name: 'x', metric: 'nope', op: '>', threshold: 'high' },
      });
      expect(answer.status).toBe(400);
      expect(typeof answer.body.message).toBe('string');
      expect(answer.body.message).toMatch(/metric/);
      expect(answer.body.message).toMatch(/threshold/);
    });
  });

  describe('with subscriber auth on (JWT_SECRET)', () => {
    let herald: HeraldChild;
    const clients: RawSseClient[] = [];
    const open = (path: string): RawSseClient => {
      const client = new RawSseClient(`${herald.url}${path}`);
      clients.push(client);
      return client;
    };
    const post = (path: string, body: string) =>
      request(`${herald.url}${path}`, { method: 'POST', headers: auth, body });

    beforeAll(async () => {
      herald = await HeraldChild.start({ JWT_SECRET: SECRET });
    });
    afterEach(() => {
      for (const client of clients.splice(0)) client.close();
    });
    afterAll(() => herald.stop());

    it.each([
      ['publisher', 'POST', '/v1/topics/t/events'],
      ['admin', 'GET', '/v1/admin/connections'],
      ['subscriber', 'GET', '/v1/poll?topic=t&timeout=1'],
    ])('a %s token without the Bearer scheme is told the scheme is missing', async (_, method, path) => {
      const answer = await request<{ message: string }>(`${herald.url}${path}`, {
        method,
        headers: { authorization: PUBLISH_TOKEN, 'content-type': 'application/json' },
        body: method === 'POST' ? '{"data":1}' : undefined,
      });
      expect(answer.status).toBe(401);
      expect(answer.body.message).toBe(
        'the Authorization header lacks the "Bearer " scheme: send Authorization: Bearer <token>',
      );
    });

    it('npm run token prints a JWT that subscribes, as the README shows', async () => {
      const printed = execFileSync(
        'npm',
        ['run', '-s', 'token', '--', '--topics', 'trucks/*', '--tenant', 'acme', '--ttl', '1h'],
        {
          env: { PATH: process.env.PATH ?? '', JWT_SECRET: SECRET },
          cwd: fileURLToPath(new URL('..', import.meta.url)),
        },
      )
        .toString()
        .trim();
      expect(printed).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const client = open(`/v1/events?topic=trucks/42&access_token=${printed}`);
      await client.waitForBody((body) => body.startsWith('retry:'));
      expect(client.status).toBe(200);
      await post('/v1/topics/trucks%2F42/events', '{"data":"hi"}');
      expect((await client.waitForEvents(1))[0].data).toBe('hi');
      const denied = await request(`${herald.url}/v1/events?topic=cars/1&access_token=${printed}`);
      expect(denied.status).toBe(403);
    });
  });
});
