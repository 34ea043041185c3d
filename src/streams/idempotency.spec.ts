import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig } from '../config/herald-config.js';
import { canonicalJson, idempotencyKey, InFlightKeys, publishFingerprint } from './idempotency.js';

const config = loadConfig({ ADMIN_TOKEN: 'admin-token-0123456789', PUBLISH_TOKEN: 'publish-token-0123456789' });

function exchange(key: string | undefined, url = '/v1/topics/t/events', token = 'publish-token-0123456789') {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (key !== undefined) headers['idempotency-key'] = key;
  const req = { method: 'POST', url, headers } as unknown as IncomingMessage;
  const res = Object.assign(new EventEmitter(), { req }) as unknown as ServerResponse;
  return { req, res };
}

describe('canonicalJson and publishFingerprint', () => {
  it('orders object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
  });

  it('keeps keys that name Object.prototype members as data', () => {
    const parsed = JSON.parse('{"__proto__":{"x":1},"constructor":2}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":1},"constructor":2}');
  });

  it('tells apart route, topic, type and data, and nothing else', () => {
    const one = [{ topic: 't', type: 'message', data: { a: 1, b: 2 } }];
    const base = publishFingerprint('one', one);
    expect(publishFingerprint('one', [{ topic: 't', type: 'message', data: { b: 2, a: 1 } }])).toBe(base);
    expect(publishFingerprint('batch', one)).not.toBe(base);
    expect(publishFingerprint('one', [{ ...one[0], topic: 'u' }])).not.toBe(base);
    expect(publishFingerprint('one', [{ ...one[0], type: 'x' }])).not.toBe(base);
    expect(publishFingerprint('one', [{ ...one[0], data: { a: 1, b: '2' } }])).not.toBe(base);
    // Event boundaries count: ["ab"] is not ["a","b"].
    expect(publishFingerprint('batch', [{ topic: 't', type: 'm', data: 'ab' }])).not.toBe(
      publishFingerprint('batch', [
        { topic: 't', type: 'm', data: 'a' },
        { topic: 't', type: 'm', data: 'b' },
      ]),
    );
  });
});

describe('InFlightKeys', () => {
  it('reserves a key when the head arrives, marks a second request a conflict, and frees it when answered', () => {
    const keys = new InFlightKeys();
    const middleware = keys.middleware(config);
    const next = (): void => undefined;
    const first = exchange('k');
    middleware(first.req, first.res, next);
    expect(keys.size).toBe(1);
    const second = exchange('k');
    middleware(second.req, second.res, next);
    expect(() => idempotencyKey(second.req, config)).toThrow(/still being handled/);
    second.res.emit('close');
    expect(keys.size).toBe(1); // the conflict never held the key
    first.res.emit('close');
    expect(keys.size).toBe(0);
    const third = exchange('k');
    middleware(third.req, third.res, next);
    expect(idempotencyKey(third.req, config)).toEqual({ name: expect.any(String), conflict: false });
  });

  it('scopes keys to the credential and ignores other routes, methods, bad keys and bad tokens', () => {
    const keys = new InFlightKeys();
    const middleware = keys.middleware(config);
    const next = (): void => undefined;
    for (const { req, res } of [
      exchange('k'),
      exchange('k', '/v1/events', 'admin-token-0123456789'),
      exchange('k', '/v1/poll'),
      exchange('two words'),
      exchange('k', '/v1/events', 'wrong-token'),
    ]) {
      middleware(req, res, next);
    }
    expect(keys.size).toBe(2);
  });

  it('answers an absent key with undefined and a malformed one with a 400 naming the problem', () => {
    expect(idempotencyKey(exchange(undefined).req, config)).toBeUndefined();
    expect(() => idempotencyKey(exchange('').req, config)).toThrow(/it is empty/);
    expect(() => idempotencyKey(exchange('x'.repeat(256)).req, config)).toThrow(/256 characters long/);
    expect(() => idempotencyKey(exchange('a b').req, config)).toThrow(/character 2 is not one/);
  });
});
