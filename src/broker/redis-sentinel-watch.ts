import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisTarget } from '../redis/redis-url.js';

/** The channel Sentinel announces a promotion on: `<name> <old ip> <old port> <new ip> <new port>`. */
export const SWITCH_CHANNEL = '+switch-master';

/** Sentinel is sending `REPLICAOF NO ONE` to the replica it chose: `<type> <id> <ip> <port> @ <name> <ip> <port>`. */
export const PROMOTING_CHANNEL = '+failover-state-send-slaveof-noone';
/** A failover that gave up (`master <name> <ip> <port>`): the primary stays. */
export const ABORT_CHANNELS = [
  '-failover-abort-not-elected',
  '-failover-abort-no-good-slave',
  '-failover-abort-slave-timeout',
];

/** What the watch tells the broker, each about the watched master group only. */
export interface SentinelEvents {
  /** A replica is being promoted: from now on the old primary's writes may be lost. */
  promoting(): void;
  aborted(): void;
  /** The new primary is announced (once per switch). */
  switched(change: PrimarySwitch): void;
}

/** Whether a Sentinel event message is about the master group `name`. */
export function namesGroup(message: string, name: string): boolean {
  const parts = message.split(' ');
  const at = parts.indexOf('@');
  return at >= 0 ? parts[at + 1] === name : parts[0] === 'master' && parts[1] === name;
}

export interface PrimarySwitch {
  from: string;
  to: { host: string; port: number };
}

/** The switch in a `+switch-master` message, when it is about the master group `name`. */
export function parseSwitch(message: string, name: string): PrimarySwitch | undefined {
  const parts = message.split(' ');
  if (parts.length !== 5 || parts[0] !== name) return undefined;
  const port = Number(parts[4]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { from: `${parts[1]}:${parts[2]}`, to: { host: parts[3], port } };
}

/**
 * Whether a connection's peer is the promoted primary. A host name (Sentinel's
 * announce-hostnames) cannot be compared with a socket's address: it counts as a match.
 */
export function connectedTo(
  peer: { remoteAddress?: string; remotePort?: number } | undefined,
  to: PrimarySwitch['to'],
): boolean {
  if (isIP(to.host) === 0) return true;
  const address = peer?.remoteAddress?.replace(/^::ffff:/, '');
  return address === to.host && peer?.remotePort === to.port;
}

/**
 * How long the same switch (same old and new primary) counts as one: Sentinels
 * announce a switch within about a second of each other, while two real
 * failovers along the same path take far longer than this.
 */
const SAME_SWITCH_WITHIN_MS = 10_000;

/**
 * Subscribes to the failover events of every Sentinel of REDIS_URL, so a
 * promotion is acted on within milliseconds, and hears each switch once
 * (every Sentinel announces it). Its own connections, so a Sentinel that is
 * down never reaches ioredis' unhandled-error output.
 */
export class SentinelWatch {
  private readonly clients: Redis[] = [];
  /** Switches acted on (`from>to`) and when: the other Sentinels' announcements of them are ignored. */
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly target: RedisTarget,
    private readonly retryStrategy: (attempt: number) => number,
    private readonly events: SentinelEvents,
  ) {}

  start(): void {
    const tls = this.target.enableTLSForSentinelMode ? this.target.sentinelTLS : undefined;
    for (const sentinel of this.target.sentinels ?? []) {
      const client = new Redis({
        host: sentinel.host,
        port: sentinel.port,
        ...(this.target.sentinelUsername ? { username: this.target.sentinelUsername } : {}),
        ...(this.target.sentinelPassword ? { password: this.target.sentinelPassword } : {}),
        ...(tls ? { tls } : {}),
        lazyConnect: true,
        enableReadyCheck: false,
        // The subscribe waits for the Sentinel however long it is down, then holds across reconnects.
        maxRetriesPerRequest: null,
        retryStrategy: this.retryStrategy,
      });
      client.on('error', () => undefined); // A Sentinel may be down; the others still announce.
      client.on('message', (channel: string, message: string) => this.heard(channel, message));
      client.subscribe(SWITCH_CHANNEL, PROMOTING_CHANNEL, ...ABORT_CHANNELS).catch(() => undefined);
      this.clients.push(client);
    }
  }

  stop(): void {
    for (const client of this.clients.splice(0)) client.disconnect();
  }

  private heard(channel: string, message: string): void {
    const name = this.target.name ?? '';
    if (channel === PROMOTING_CHANNEL) {
      if (namesGroup(message, name)) this.events.promoting();
    } else if (ABORT_CHANNELS.includes(channel)) {
      if (namesGroup(message, name)) this.events.aborted();
    } else if (channel === SWITCH_CHANNEL) {
      const change = parseSwitch(message, name);
      if (!change) return;
      const now = Date.now();
      for (const [key, at] of this.recent) if (now - at > SAME_SWITCH_WITHIN_MS) this.recent.delete(key);
      // Every Sentinel announces a switch, each when its own configuration catches up: a
      // late announcement of an earlier switch (after a failback) must not move the primary back.
      const key = `${change.from}>${change.to.host}:${change.to.port}`;
      if (this.recent.has(key)) return;
      this.recent.set(key, now);
      this.events.switched(change);
    }
  }
}
