import { describe, expect, it } from '@jest/globals';
import { connectionOptions } from './redis-connections.js';
import { parseRedisUrl } from './redis-url.js';

describe('connectionOptions', () => {
  it('fails fast while disconnected and never resends a command after a reconnect', () => {
    expect(connectionOptions(parseRedisUrl('redis://cache:6379'))).toMatchObject({
      host: 'cache',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
    });
  });

  it('behind Sentinel: bounded Sentinel calls, and a READONLY reply (a demoted primary) asks Sentinel again', () => {
    const options = connectionOptions(parseRedisUrl('redis+sentinel://s1,s2/herald'));
    expect(options).toMatchObject({ name: 'herald', sentinelCommandTimeout: expect.any(Number) });
    const reconnect = options.reconnectOnError as (error: Error) => boolean;
    expect(reconnect(new Error("READONLY You can't write against a read only replica."))).toBe(true);
    expect(reconnect(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(reconnect(new Error('NOSCRIPT No matching script'))).toBe(false);
  });

  it('without Sentinel, a READONLY reply stays a 503: reconnecting would reach the same node', () => {
    expect(connectionOptions(parseRedisUrl('redis://cache:6379')).reconnectOnError).toBeUndefined();
  });
});
