import type { RedisOptions } from 'ioredis';

/** Where to reach Redis, as ioredis options; never holds more than the URL said. */
export type RedisTarget = Pick<
  RedisOptions,
  | 'host'
  | 'port'
  | 'username'
  | 'password'
  | 'db'
  | 'tls'
  | 'sentinels'
  | 'name'
  | 'sentinelUsername'
  | 'sentinelPassword'
  | 'enableTLSForSentinelMode'
  | 'sentinelTLS'
>;

export class RedisUrlError extends Error {}

const USAGE =
  'must be a redis://[user:password@]host[:port][/db] URL, rediss://… (TLS) or ' +
  'redis+sentinel://[user:password@]host[:port][,host[:port]…]/<master name>[/db][?sentinelPassword=…&tls=true]';

/**
 * Parses REDIS_URL into ioredis options. `redis://` and `rediss://` are what
 * ioredis itself accepts; `redis+sentinel://` lists the Sentinels (which WHATWG
 * URL cannot parse as one host) and names the master group in the path.
 */
export function parseRedisUrl(raw: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(raw)?.[1].toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return standalone(raw, scheme === 'rediss');
  if (scheme === 'redis+sentinel') return sentinel(raw);
  throw new RedisUrlError(USAGE);
}

function standalone(raw: string, tls: boolean): RedisTarget {
  const url = parse(raw);
  if (url.hostname === '') throw new RedisUrlError(USAGE);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: port(url.port, 6379),
    ...credentials(url),
    db: database(url.pathname.slice(1)),
    ...(tls ? { tls: {} } : {}),
  };
}

function sentinel(raw: string): RedisTarget {
  // Split off the host list by hand, then let URL parse the rest with one placeholder host.
  const match = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/?#]+)(.*)$/i.exec(raw);
  if (!match) throw new RedisUrlError(USAGE);
  const [, userinfo, hostList, rest] = match;
  const url = parse(`redis://${userinfo !== undefined ? `${userinfo}@` : ''}sentinel${rest}`);
  const sentinels = hostList.split(',').map((entry) => {
    const hostPort = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::([0-9]+))?$/i.exec(entry.trim());
    if (!hostPort) throw new RedisUrlError(USAGE);
    return { host: hostPort[1].replace(/^\[|\]$/g, ''), port: port(hostPort[2] ?? '', 26379) };
  });
  const [name, db, ...extra] = url.pathname.slice(1).split('/');
  if (!name || extra.length > 0) throw new RedisUrlError(USAGE);
  const tls = url.searchParams.get('tls') === 'true';
  return {
    sentinels,
    name: decodeURIComponent(name),
    ...credentials(url),
    db: database(db ?? ''),
    ...(url.searchParams.has('sentinelUsername')
      ? { sentinelUsername: url.searchParams.get('sentinelUsername') as string }
      : {}),
    ...(url.searchParams.has('sentinelPassword')
      ? { sentinelPassword: url.searchParams.get('sentinelPassword') as string }
      : {}),
    ...(tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
  };
}

function parse(raw: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new RedisUrlError(USAGE);
  }
}

function port(text: string, fallback: number): number {
  if (text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new RedisUrlError(USAGE);
  return value;
}

function database(text: string): number {
  if (text === '') return 0;
  if (!/^[0-9]{1,5}$/.test(text)) throw new RedisUrlError(USAGE);
  return Number(text);
}

function credentials(url: URL): Pick<RedisTarget, 'username' | 'password'> {
  const out: Pick<RedisTarget, 'username' | 'password'> = {};
  if (url.username) out.username = decodeURIComponent(url.username);
  if (url.password) out.password = decodeURIComponent(url.password);
  return out;
}

/** The URL with its password masked, for log lines and error messages. */
export function redactRedisUrl(raw: string): string {
  return raw.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@').replace(/([?&]sentinelPassword=)[^&#]*/i, '$1***');
}
