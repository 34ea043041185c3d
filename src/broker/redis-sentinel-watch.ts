import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisTarget } from './redis-url.js';

/** The channel Sentinel announces a promotion on: `<name> <old ip> <old port> <new ip> <new port>`. */
export const SWITCH_CHANNEL = '+switch-master';

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
 * Subscribes to `+switch-master` on every Sentinel of REDIS_URL, so a promotion
 * is acted on within milliseconds, and hears each switch once (every Sentinel
 * announces it). Its own connections, so a Sentinel that is down never
 * reaches ioredis' unhandled-error output.
 */
export class SentinelWatch {
  private readonly clients: Redis[] = [];
  private last: string | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly retryStrategy: (attempt: number) => number,
    private readonly onSwitch: (change: PrimarySwitch) => void,
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
      client.on('message', (channel: string, message: string) => {
        if (channel === SWITCH_CHANNEL) this.heard(message);
      });
      client.subscribe(SWITCH_CHANNEL).catch(() => undefined);
      this.clients.push(client);
    }
  }

  stop(): void {
    for (const client of this.clients.splice(0)) client.disconnect();
  }

  private heard(message: string): void {
    const change = this.target.name ? parseSwitch(message, this.target.name) : undefined;
    if (!change) return;
    const key = `${change.to.host}:${change.to.port}`;
    if (key === this.last) return;
    this.last = key;
    this.onSwitch(change);
  }
}
