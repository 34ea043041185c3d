import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { describeWith, REDIS_URL, redisAvailable } from '../../test/support/services.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import {
  ABORT_CHANNELS,
  connectedTo,
  namesGroup,
  parseSwitch,
  PROMOTING_CHANNEL,
  SentinelWatch,
  SWITCH_CHANNEL,
  type PrimarySwitch,
} from './redis-sentinel-watch.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('parseSwitch', () => {
  it('reads the new primary of the named group', () => {
    expect(parseSwitch('herald 10.0.0.1 6379 10.0.0.2 6380', 'herald')).toEqual({
      from: '10.0.0.1:6379',
      to: { host: '10.0.0.2', port: 6380 },
    });
  });

  it.each([
    ['another group', 'other 10.0.0.1 6379 10.0.0.2 6380'],
    ['too few fields', 'herald 10.0.0.1 6379 10.0.0.2'],
    ['a bad port', 'herald 10.0.0.1 6379 10.0.0.2 70000'],
    ['not a port', 'herald 10.0.0.1 6379 10.0.0.2 x'],
  ])('ignores %s', (_, message) => {
    expect(parseSwitch(message, 'herald')).toBeUndefined();
  });
});

describe('namesGroup', () => {
  it('reads the group of a replica event (after @) and of a master event', () => {
    expect(namesGroup('slave 127.0.0.1:6380 127.0.0.1 6380 @ herald 127.0.0.1 6379', 'herald')).toBe(true);
    expect(namesGroup('slave 127.0.0.1:6380 127.0.0.1 6380 @ other 127.0.0.1 6379', 'herald')).toBe(false);
    expect(namesGroup('master herald 127.0.0.1 6379', 'herald')).toBe(true);
    expect(namesGroup('master other 127.0.0.1 6379', 'herald')).toBe(false);
    expect(namesGroup('slave herald 127.0.0.1 6379', 'herald')).toBe(false);
  });
});

describe('connectedTo', () => {
  const to = { host: '127.0.0.1', port: 6380 };
  it('matches the peer address and port, IPv4-mapped included', () => {
    expect(connectedTo({ remoteAddress: '127.0.0.1', remotePort: 6380 }, to)).toBe(true);
    expect(connectedTo({ remoteAddress: '::ffff:127.0.0.1', remotePort: 6380 }, to)).toBe(true);
    expect(connectedTo({ remoteAddress: '127.0.0.1', remotePort: 6379 }, to)).toBe(false);
    expect(connectedTo({ remoteAddress: '127.0.0.2', remotePort: 6380 }, to)).toBe(false);
    expect(connectedTo({ remoteAddress: '::1', remotePort: 6380 }, { host: '::1', port: 6380 })).toBe(true);
  });

  it('a closed link matches nothing; a host name cannot be compared, so it is taken as a match', () => {
    expect(connectedTo(undefined, to)).toBe(false);
    expect(connectedTo({}, to)).toBe(false);
    expect(connectedTo({ remoteAddress: '10.0.0.2', remotePort: 6380 }, { host: 'redis-1.internal', port: 6380 })).toBe(
      true,
    );
  });
});

const available = await redisAvailable();

// Any Redis relays Pub/Sub like a Sentinel does: the shared one stands in for the Sentinels here.
describeWith(available, `Redis at ${REDIS_URL}`)('SentinelWatch (real Pub/Sub)', () => {
  const watches: SentinelWatch[] = [];
  afterEach(() => {
    for (const watch of watches.splice(0)) watch.stop();
    jest.restoreAllMocks();
  });

  /** A started watch of a fresh group over `sentinels(live)`, once each live one is subscribed. */
  async function watching(sentinels: (live: { host: string; port: number }) => { host: string; port: number }[]) {
    const name = `spec-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const url = new URL(REDIS_URL);
    const live = { host: url.hostname, port: Number(url.port || 6379) };
    const list = sentinels(live);
    const heard: PrimarySwitch[] = [];
    const heardAlso: string[] = [];
    const watch = new SentinelWatch({ name, sentinels: list }, () => 50, {
      promoting: () => heardAlso.push('promoting'),
      aborted: () => heardAlso.push('aborted'),
      switched: (change) => heard.push(change),
    });
    watches.push(watch);
    watch.start();
    const publisher = new Redis(REDIS_URL);
    const subscriptions = list.filter((sentinel) => sentinel === live).length;
    const deadline = Date.now() + 5_000;
    while (Number((await publisher.pubsub('NUMSUB', SWITCH_CHANNEL))[1]) < subscriptions && Date.now() < deadline) {
      await sleep(20);
    }
    return { name, heard, heardAlso, publisher };
  }

  it('hears the group’s promotions, aborts and each switch once, from any Sentinel; never prints a down Sentinel’s errors', async () => {
    const consoleError = jest.spyOn(console, 'error');
    const dead = { host: '127.0.0.1', port: await TcpProxy.closedPort() };
    // Two live subscriptions (the same Sentinel twice) and one that never connects.
    const { name, heard, heardAlso, publisher } = await watching((live) => [dead, live, live]);
    try {
      await publisher.publish(PROMOTING_CHANNEL, `slave 127.0.0.1:2 127.0.0.1 2 @ other 127.0.0.1 1`);
      await publisher.publish(PROMOTING_CHANNEL, `slave 127.0.0.1:6380 127.0.0.1 6380 @ ${name} 127.0.0.1 6379`);
      await publisher.publish(ABORT_CHANNELS[1], `master ${name} 127.0.0.1 6379`);
      await publisher.publish(SWITCH_CHANNEL, `other 127.0.0.1 1 127.0.0.1 2`);
      await publisher.publish(SWITCH_CHANNEL, `${name} 127.0.0.1 6379 127.0.0.1 6380`);
      await publisher.publish(SWITCH_CHANNEL, `${name} 127.0.0.1 6379 127.0.0.1 6380`);
      await publisher.publish(SWITCH_CHANNEL, `${name} 127.0.0.1 6380 127.0.0.1 6379`);
      await sleep(300); // Several reconnect attempts to the dead one, too.
    } finally {
      await publisher.quit();
    }
    expect(heard).toEqual([
      { from: '127.0.0.1:6379', to: { host: '127.0.0.1', port: 6380 } },
      { from: '127.0.0.1:6380', to: { host: '127.0.0.1', port: 6379 } },
    ]);
    // Two live subscriptions: each promotion and abort is heard from both (the two
    // subscriptions' messages may interleave, so compare without their order).
    expect([...heardAlso].sort()).toEqual(['aborted', 'aborted', 'promoting', 'promoting']);
    expect(consoleError).not.toHaveBeenCalled();
  });

  it('a Sentinel that announces an earlier switch late (after a failback) does not move the primary back', async () => {
    const { name, heard, publisher } = await watching((live) => [live]);
    try {
      await publisher.publish(SWITCH_CHANNEL, `${name} 127.0.0.1 6379 127.0.0.1 6380`); // failover
      await publisher.publish(SWITCH_CHANNEL, `${name} 127.0.0.1 6380 127.0.0.1 6379`); // failback
      await publisher.publish(SWITCH_CHANNEL, `${name} 127.0.0.1 6379 127.0.0.1 6380`); // a slow Sentinel's news of the failover
      await sleep(200);
    } finally {
      await publisher.quit();
    }
    expect(heard).toEqual([
      { from: '127.0.0.1:6379', to: { host: '127.0.0.1', port: 6380 } },
      { from: '127.0.0.1:6380', to: { host: '127.0.0.1', port: 6379 } },
    ]);
  });
});
