import { describe, expect, it } from '@jest/globals';
import { parseRedisUrl, redactRedisUrl, RedisUrlError } from './redis-url.js';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', { host: '127.0.0.1', port: 6379, db: 0 }],
    ['redis://cache', { host: 'cache', port: 6379, db: 0 }],
    ['redis://:s3cret@cache:6380/7', { host: 'cache', port: 6380, password: 's3cret', db: 7 }],
    ['redis://herald:p%40ss%2Fword@cache/2', { host: 'cache', username: 'herald', password: 'p@ss/word', db: 2 }],
    ['redis://[::1]:6379', { host: '::1', port: 6379 }],
    ['rediss://cache.example.com:6380', { host: 'cache.example.com', port: 6380, tls: {} }],
  ])('%s', (url, expected) => {
    expect(parseRedisUrl(url)).toMatchObject(expected);
  });

  it('reads a Sentinel URL: every sentinel, the master name, the db, credentials and TLS', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2:26380,s3/mymaster/3?sentinelPassword=sp&tls=true')).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      name: 'mymaster',
      password: 'pw',
      db: 3,
      sentinelPassword: 'sp',
      tls: {},
      enableTLSForSentinelMode: true,
      sentinelTLS: {},
    });
    expect(parseRedisUrl('redis+sentinel://[::1]:26379/m')).toEqual({
      sentinels: [{ host: '::1', port: 26379 }],
      name: 'm',
      db: 0,
    });
  });

  it.each([
    'http://cache:6379',
    'cache:6379',
    'redis://',
    'redis://cache:99999',
    'redis://cache/db',
    'redis+sentinel://s1:26379',
    'redis+sentinel://s1:26379/',
    'redis+sentinel://s1:x/m',
    'redis+sentinel://s1,/m',
    'redis+sentinel://s1/m/0/extra',
  ])('rejects %s with what is allowed', (url) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(/must be a redis:\/\//);
  });

  it('masks passwords for logs', () => {
    expect(redactRedisUrl('redis://user:secret@cache:6379/1')).toBe('redis://user:***@cache:6379/1');
    expect(redactRedisUrl('redis+sentinel://:pw@s1,s2/m?sentinelPassword=sp&tls=true')).toBe(
      'redis+sentinel://:***@s1,s2/m?sentinelPassword=***&tls=true',
    );
    expect(redactRedisUrl('redis://cache:6379')).toBe('redis://cache:6379');
  });
});
