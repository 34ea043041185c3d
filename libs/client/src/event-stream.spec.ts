import { afterEach, describe, expect, it } from '@jest/globals';
import { FakeHerald, until } from '../test/fake-herald.js';
import { EventStream, type EventStreamOptions, type StreamEvent } from './event-stream.js';
import type { ConnectionState, HeraldError, PresenceInfo, ResetInfo } from './types.js';

interface Recorded {
  events: StreamEvent[];
  resets: ResetInfo[];
  /** With the number of events handed on before each. */
  presence: (PresenceInfo & { eventsBefore: number })[];
  states: ConnectionState[];
  errors: HeraldError[];
}

const streams: EventStream[] = [];
afterEach(() => streams.splice(0).forEach((stream) => stream.close()));

function open(herald: FakeHerald, options: Partial<EventStreamOptions> = {}): { stream: EventStream } & Recorded {
  const recorded: Recorded = { events: [], resets: [], presence: [], states: [], errors: [] };
  const stream = new EventStream(
    {
      baseUrl: 'http://herald.test/base',
      transport: 'fetch',
      tokenIn: 'header',
      credentials: 'same-origin',
      initialRetryMs: 5,
      maxRetryDelayMs: 50,
      idleTimeoutMs: 10_000,
      token: async () => null,
      canRefreshToken: () => false,
      fetch: herald.fetch,
      EventSource: undefined,
      now: Date.now,
      random: () => 0.5,
      ...options,
    },
    {
      events: (batch) => recorded.events.push(...batch),
      reset: (info) => recorded.resets.push(info),
      presence: (info) => recorded.presence.push({ ...info, eventsBefore: recorded.events.length }),
      state: (state) => recorded.states.push(state),
      error: (error) => recorded.errors.push(error),
      opened: () => undefined,
    },
  );
  streams.push(stream);
  return { stream, ...recorded };
}

describe('EventStream', () => {
  it('asks for the topics in envelope format and hands on parsed events', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['trucks/1', 'alerts']);
    await until(() => s.stream.state === 'open', 2_000, 'open');
    const { url, headers, lastEventId } = herald.last;
    expect(`${url.origin}${url.pathname}`).toBe('http://herald.test/base/v1/events');
    expect(url.searchParams.getAll('topic')).toEqual(['trucks/1', 'alerts']);
    expect(url.searchParams.get('format')).toBe('envelope');
    expect(url.searchParams.has('since')).toBe(false);
    expect(headers.get('accept')).toBe('text/event-stream');
    expect(lastEventId).toBeNull();
    herald.write('retry: 7\n\n: hb\n\n');
    const id = herald.event('trucks/1', { lat: 1 }, { type: 'position', ts: 123 });
    // A frame split across reads is reassembled by the parser.
    herald.write('id: e1-9\ndata: {"topic":"alerts","type":"message",');
    herald.write('"data":"door\\nopen","ts":124}\n\n');
    await until(() => s.events.length === 2, 2_000, 'two events');
    expect(s.events).toEqual([
      { id, topic: 'trucks/1', type: 'position', data: { lat: 1 }, ts: 123 },
      { id: 'e1-9', topic: 'alerts', type: 'message', data: 'door\nopen', ts: 124 },
    ]);
    expect(s.stream.retryMs).toBe(7);
    expect(s.stream.lastEventId).toBe('e1-9');
  });

  it('with latest, asks for since=latest on every request, so a reset is followed by the newest events', async () => {
    const herald = new FakeHerald();
    const s = open(herald, { latest: true });
    s.stream.setTopics(['prices/x']);
    await until(() => s.stream.state === 'open', 2_000, 'open');
    expect(herald.last.url.searchParams.get('since')).toBe('latest');
  });

  it('with presence, asks for presence=1 and hands presence frames on in order, never as events or resume ids', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['trucks/1'], { presence: true });
    await until(() => s.stream.state === 'open');
    expect(herald.last.url.searchParams.get('presence')).toBe('1');
    // One read with an event, then a presence frame: the event goes out first.
    herald.write(
      'id: e1-0\ndata: {"topic":"trucks/1","data":"p1","ts":1}\n\n' +
        'event: presence\ndata: {"topic":"trucks/1","subscribers":3}\n\n',
    );
    await until(() => s.presence.length === 1);
    expect(s.presence).toEqual([{ topic: 'trucks/1', subscribers: 3, eventsBefore: 1 }]);
    // A published event whose type is `presence` has an id: it stays an event.
    const typed = herald.event('trucks/1', { who: 'x' }, { type: 'presence' });
    herald.presence('trucks/1', -1);
    herald.presence('trucks/1', 2);
    await until(() => s.presence.length === 2);
    expect(s.events.map((e) => [e.id, e.type])).toEqual([
      ['e1-0', 'message'],
      [typed, 'presence'],
    ]);
    expect(s.presence[1]).toEqual({ topic: 'trucks/1', subscribers: 2, eventsBefore: 2 });
    expect(s.errors).toMatchObject([{ kind: 'protocol', fatal: false }]);
    expect(s.stream.lastEventId).toBe(typed);
    herald.end();
    await until(() => herald.requests.length === 2);
    expect(herald.last.lastEventId).toBe(typed);
    expect(herald.last.url.searchParams.get('presence')).toBe('1');
  });

  it('without presence, asks for none and ignores a presence frame', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open');
    expect(herald.last.url.searchParams.has('presence')).toBe(false);
    herald.presence('a', 1);
    const id = herald.event('a', 1);
    await until(() => s.events.length === 1);
    expect(s.presence).toEqual([]);
    expect(s.errors).toEqual([]);
    expect(s.stream.lastEventId).toBe(id);
    s.stream.setTopics(['a'], { presence: true });
    await until(() => herald.requests.length === 2 && s.stream.state === 'open');
    expect(herald.last.url.searchParams.get('presence')).toBe('1');
    expect(herald.last.lastEventId).toBe(id);
  });

  it('goes on without presence where Herald refuses it (PRESENCE=off), and says so', async () => {
    const herald = new FakeHerald();
    herald.answerNext(() => new Response('{"message":"presence is off (PRESENCE=off)"}', { status: 400 }));
    const s = open(herald);
    s.stream.setTopics(['a'], { presence: true });
    await until(() => s.stream.state === 'open');
    expect(herald.requests.map((r) => r.url.searchParams.has('presence'))).toEqual([true, false]);
    expect(s.errors).toEqual([
      {
        kind: 'http',
        status: 400,
        message: 'Herald refused presence (400: presence is off (PRESENCE=off)): the stream goes on without it',
        fatal: false,
      },
    ]);
    s.stream.setTopics(['a', 'b'], { presence: true });
    await until(() => herald.requests.length === 3 && s.stream.state === 'open');
    expect(herald.last.url.searchParams.has('presence')).toBe(false);
  });

  it('stops on a 400 that is not about presence, after one try without it', async () => {
    const herald = new FakeHerald();
    const refuse = (): Response => new Response('{"message":"too many topics"}', { status: 400 });
    herald.answerNext(refuse);
    herald.answerNext(refuse);
    const s = open(herald);
    s.stream.setTopics(['a'], { presence: true });
    await until(() => s.stream.state === 'failed');
    expect(herald.requests.map((r) => r.url.searchParams.has('presence'))).toEqual([true, false]);
    expect(s.errors).toMatchObject([{ kind: 'http', status: 400, fatal: true }]);
    s.stream.setTopics(['b'], { presence: true });
    await until(() => s.stream.state === 'open');
    expect(herald.last.url.searchParams.get('presence')).toBe('1');
  });

  it('reopens at once with its last id and the new topics when the topics change', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open');
    herald.event('a', 1);
    const last = herald.event('a', 2);
    await until(() => s.events.length === 2);
    s.stream.setTopics(['a', 'b']);
    await until(() => herald.requests.length === 2 && s.stream.state === 'open', 2_000, 'second stream');
    expect(herald.requests[0].aborted).toBe(true);
    expect(herald.last.topics).toEqual(['a', 'b']);
    expect(herald.last.lastEventId).toBe(last);
    expect(s.stream.resubscribes).toBe(1);
    expect(s.stream.reconnects).toBe(0);
  });

  it('resumes with Last-Event-ID after event: close and waits one retry when kicked', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open');
    herald.write('retry: 120\n\n');
    const last = herald.event('a', 'x');
    const kickedAt = Date.now();
    herald.close('kicked');
    await until(() => herald.requests.length === 2, 2_000, 'reconnect');
    expect(Date.now() - kickedAt).toBeGreaterThanOrEqual(100);
    expect(herald.last.lastEventId).toBe(last);
    await until(() => s.stream.state === 'open');
    expect(s.stream.reconnects).toBe(1);
    expect(s.errors).toEqual([]);
  });

  it('never hands on an event twice, even if the server repeats it', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open');
    herald.write('id: e1-5\ndata: {"topic":"a","type":"message","data":1,"ts":1}\n\n');
    herald.write('id: e1-5\ndata: {"topic":"a","type":"message","data":1,"ts":1}\n\n');
    herald.write('id: e1-4\ndata: {"topic":"a","type":"message","data":0,"ts":1}\n\n');
    herald.write('id: e1-6\ndata: {"topic":"a","type":"message","data":2,"ts":1}\n\n');
    await until(() => s.stream.lastEventId === 'e1-6');
    expect(s.events.map((e) => e.id)).toEqual(['e1-5', 'e1-6']);
  });

  it('surfaces reset and resumes from the id the reset frame carries', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open');
    herald.event('a', 1, { epoch: 'old' });
    herald.write('id: new-40\nevent: reset\ndata: {"reason":"history-lost","lastEventId":"old-1"}\n\n');
    await until(() => s.resets.length === 1);
    expect(s.resets).toEqual([{ reason: 'history-lost', lastEventId: 'old-1' }]);
    expect(s.stream.lastEventId).toBe('new-40');
    herald.end();
    await until(() => herald.requests.length === 2);
    expect(herald.last.lastEventId).toBe('new-40');
  });

  it('backs off on network errors and reports them', async () => {
    const herald = new FakeHerald();
    herald.answerNext(() => {
      throw new TypeError('fetch failed');
    });
    const s = open(herald);
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open', 2_000, 'open after a failure');
    expect(herald.requests).toHaveLength(2);
    expect(s.errors).toEqual([{ kind: 'network', message: 'fetch failed', fatal: false }]);
    expect(s.states).toEqual(['connecting', 'reconnecting', 'connecting', 'open']);
  });

  it('waits Retry-After on 503 and reads the JSON error', async () => {
    const herald = new FakeHerald();
    herald.answerNext(
      () =>
        new Response(JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'at capacity' }), {
          status: 503,
          headers: { 'retry-after': '1', 'content-type': 'application/json' },
        }),
    );
    const s = open(herald, { random: () => 0 });
    const started = Date.now();
    s.stream.setTopics(['a']);
    await until(() => herald.requests.length === 2, 3_000, 'retry after Retry-After');
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(s.errors[0]).toEqual({ kind: 'http', status: 503, message: '503: at capacity', fatal: false });
  });

  it('stops on 403 until the topics change', async () => {
    const herald = new FakeHerald();
    herald.answerNext(() => new Response('{"message":"topic not allowed"}', { status: 403 }));
    const s = open(herald);
    s.stream.setTopics(['secret']);
    await until(() => s.stream.state === 'failed');
    expect(s.errors[0]).toMatchObject({ kind: 'auth', status: 403, fatal: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(herald.requests).toHaveLength(1);
    s.stream.setTopics(['public']);
    await until(() => s.stream.state === 'open');
    expect(herald.last.topics).toEqual(['public']);
  });

  it('treats a silent stream as dead and resumes', async () => {
    const herald = new FakeHerald();
    const s = open(herald, { idleTimeoutMs: 60 });
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open');
    const last = herald.event('a', 1);
    await until(() => herald.requests.length === 2, 2_000, 'reconnect after silence');
    expect(herald.requests[0].aborted).toBe(true);
    expect(herald.last.lastEventId).toBe(last);
    expect(s.errors[0]).toMatchObject({ kind: 'network', fatal: false });
  });

  it('sends the token as a header or as access_token', async () => {
    const herald = new FakeHerald();
    const header = open(herald, { token: async () => 'jwt-1' });
    header.stream.setTopics(['a']);
    await until(() => header.stream.state === 'open');
    expect(herald.last.headers.get('authorization')).toBe('Bearer jwt-1');
    expect(herald.last.url.searchParams.has('access_token')).toBe(false);
    const query = open(herald, { token: async () => 'jwt-2', tokenIn: 'query' });
    query.stream.setTopics(['a']);
    await until(() => query.stream.state === 'open');
    expect(herald.last.url.searchParams.get('access_token')).toBe('jwt-2');
    expect(herald.last.headers.has('authorization')).toBe(false);
  });

  it('goes idle without topics and closes for good', async () => {
    const herald = new FakeHerald();
    const s = open(herald);
    s.stream.setTopics(['a']);
    await until(() => s.stream.state === 'open');
    s.stream.setTopics([]);
    await until(() => s.stream.state === 'idle');
    expect(herald.requests[0].aborted).toBe(true);
    s.stream.close();
    s.stream.setTopics(['b']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(herald.requests).toHaveLength(1);
    expect(s.stream.state).toBe('closed');
  });
});
