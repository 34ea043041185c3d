import { afterEach, describe, expect, it } from '@jest/globals';
import { FakeHerald, until } from '../test/fake-herald.js';
import { HeraldClient } from './herald-client.js';
import type { EventMeta, HeraldClientOptions, HeraldError, PresenceInfo } from './types.js';

const clients: HeraldClient[] = [];
afterEach(() => clients.splice(0).forEach((client) => client.close()));

function client(herald: FakeHerald, options: HeraldClientOptions = {}): HeraldClient {
  const created = new HeraldClient('http://herald.test/', {
    fetch: herald.fetch,
    resubscribeDebounceMs: 5,
    ...options,
  });
  clients.push(created);
  return created;
}

describe('HeraldClient (one stream in this process)', () => {
  it('rejects bad input at subscribe, before anything reaches Herald', () => {
    const herald = new FakeHerald();
    const c = client(herald);
    const noop = (): void => undefined;
    expect(() => c.subscribe([], noop)).toThrow(TypeError);
    expect(() => c.subscribe('a b', noop)).toThrow(/invalid topic "a b"/);
    expect(() => c.subscribe('trucks/*', noop)).toThrow(TypeError);
    expect(() => c.subscribe('a', noop, { type: 'bad type' })).toThrow(/invalid event type/);
    expect(() =>
      c.subscribe(
        Array.from({ length: 65 }, (_, i) => `t${i}`),
        noop,
      ),
    ).toThrow(/64/);
    expect(() => c.subscribe('a', 'nope' as unknown as () => void)).toThrow(/handler/);
    expect(() => new HeraldClient('ftp://x')).toThrow(/http/);
    expect(() => new HeraldClient('http://x', { maxRetryDelayMs: -1 })).toThrow(/maxRetryDelayMs/);
    expect(herald.requests).toHaveLength(0);
  });

  it('delivers (data, {id, topic, type, ts}) and counts it in the metrics', async () => {
    const herald = new FakeHerald();
    const c = client(herald);
    const got: [unknown, EventMeta][] = [];
    c.subscribe(['trucks/1', 'trucks/2'], (data, meta) => got.push([data, meta]));
    await until(() => c.state === 'open');
    expect(herald.last.url.href).toBe('http://herald.test/v1/events?topic=trucks%2F1&topic=trucks%2F2&format=envelope');
    const ts = Date.now() - 20;
    const id = herald.event('trucks/2', { speed: 80 }, { type: 'position', ts });
    await until(() => got.length === 1);
    expect(got[0]).toEqual([{ speed: 80 }, { id, topic: 'trucks/2', type: 'position', ts }]);
    const metrics = c.metrics();
    expect(metrics).toMatchObject({
      state: 'open',
      shared: false,
      transport: 'fetch',
      connects: 1,
      messagesReceived: 1,
    });
    expect(metrics.topics).toEqual(['trucks/1', 'trucks/2']);
    expect(metrics.lastEventId).toBe(id);
    expect(metrics.latencyMs!.last).toBeGreaterThanOrEqual(20);
    expect(metrics.connectTimeMs).not.toBeNull();
  });

  it('with presence: true, asks for presence=1 and emits `presence`, leaving the resume id to events', async () => {
    const herald = new FakeHerald();
    const c = client(herald, { presence: true });
    const presence: PresenceInfo[] = [];
    c.on('presence', (info) => presence.push(info));
    c.subscribe('trucks/42', () => undefined);
    await until(() => c.state === 'open');
    expect(herald.last.url.searchParams.get('presence')).toBe('1');
    const id = herald.event('trucks/42', { lat: 1 });
    herald.presence('trucks/42', 3);
    await until(() => presence.length === 1);
    expect(presence).toEqual([{ topic: 'trucks/42', subscribers: 3 }]);
    expect(c.metrics()).toMatchObject({ lastEventId: id, messagesReceived: 1 });
  });

  it('keeps delivering when one handler throws, and reports it', async () => {
    const herald = new FakeHerald();
    const c = client(herald);
    const errors: HeraldError[] = [];
    c.on('error', (error) => errors.push(error));
    const good: unknown[] = [];
    c.subscribe('a', () => {
      throw new Error('boom');
    });
    c.subscribe('a', (data) => good.push(data));
    await until(() => c.state === 'open');
    herald.event('a', 1);
    herald.event('a', 2);
    await until(() => good.length === 2);
    expect(errors.map((e) => e.kind)).toEqual(['handler', 'handler']);
    expect(errors[0].message).toContain('boom');
  });

  it('shrinks the stream on unsubscribe and stops it on close', async () => {
    const herald = new FakeHerald();
    const c = client(herald);
    const states: string[] = [];
    c.on('state', (state) => states.push(state));
    const offA = c.subscribe('a', () => undefined);
    c.subscribe('b', () => undefined);
    await until(() => c.state === 'open');
    offA();
    offA();
    await until(() => herald.requests.length === 2 && c.state === 'open');
    expect(herald.last.topics).toEqual(['b']);
    c.close();
    expect(c.state).toBe('closed');
    await until(() => herald.last.aborted);
    expect(() => c.subscribe('a', () => undefined)).toThrow(/close/);
    expect(states[states.length - 1]).toBe('closed');
  });
});
