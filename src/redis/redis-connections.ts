import { Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl, type RedisTarget } from './redis-url.js';

/**
 * Every ioredis client Herald opens to REDIS_URL's primary is made here, so
 * the broker, presence and the stored documents agree on how to connect.
 */
const CONNECT_TIMEOUT_MS = 2_000;
/** A stored document's connection: slower to give up, as a read at start-up may meet Redis still coming up. */
const DOCUMENT_CONNECT_TIMEOUT_MS = 5_000;

/** Reconnection backoff: 100 ms doubling to 2 s, ±25 % jitter so instances do not reconnect in step. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(2_000, 50 * 2 ** Math.min(Math.max(attempt, 1), 6));
  return Math.round(base * (0.75 + Math.random() / 2));
}

/** ioredis options for a fail-fast connection to the primary (found through Sentinel when the URL names some). */
export function connectionOptions(target: RedisTarget): RedisOptions {
  return {
    ...target,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
    // Fail fast while disconnected (503), and never send a publish twice after a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    ...(target.sentinels
      ? {
          sentinelCommandTimeout: CONNECT_TIMEOUT_MS,
          sentinelRetryStrategy: reconnectDelay,
          // A primary demoted under an open link (a switch this process missed): ask Sentinel again; the write got 503.
          reconnectOnError: (error: Error) => error.message.startsWith('READONLY'),
        }
      : {}),
  };
}

/** A fail-fast connection (not yet connecting), named `herald-<role>-<pid>` in CLIENT LIST. */
export function connectRedis(target: RedisTarget, role: string, commandTimeoutMs?: number): Redis {
  return new Redis({
    ...connectionOptions(target),
    ...(commandTimeoutMs === undefined ? {} : { commandTimeout: commandTimeoutMs }),
    connectionName: `herald-${role}-${process.pid}`,
  });
}

/** A stored document's connection (not yet connecting): a command waits out a short reconnect. */
export function documentConnection(url: string): Redis {
  const client = new Redis({
    ...parseRedisUrl(url),
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: DOCUMENT_CONNECT_TIMEOUT_MS,
  });
  // Failures surface on the commands; without a listener ioredis would print each reconnect error.
  client.on('error', () => undefined);
  return client;
}
