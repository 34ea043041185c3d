import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BrokerUnavailableError } from './event-broker.js';
import type { LuaScript } from './redis-scripts.js';
import { connectedTo, SentinelWatch, type PrimarySwitch } from './redis-sentinel-watch.js';
import { connectRedis, reconnectDelay } from '../redis/redis-connections.js';
import { parseRedisUrl, redactRedisUrl } from '../redis/redis-url.js';

/** A publish or replay that takes longer than this answers 503 rather than hanging the request. */
const COMMAND_TIMEOUT_MS = 5_000;
/** The longest a promotion holds publishes back when its `+switch-master` never comes. */
const PROMOTION_HOLD_MS = 5_000;
/** How long after a `+switch-master` a link to any other node than the one announced is dropped again. */
const SWITCH_TRUST_MS = 10_000;

/** What the link tells the broker. */
export interface LinkEvents {
  /** The command connection is up (first time or again). */
  commandReady(): void;
  /** The live channel is subscribed (again): what was missed can be read now. */
  subscribed(): void;
  /** The live connection is gone. */
  unsubscribed(): void;
  message(message: string): void;
}

export interface LinkOptions {
  url: string;
  /** The live channel. */
  channel: string;
  /** The one key every script is called with (the head). */
  headKey: string;
  logger: Logger;
  events: LinkEvents;
}

/**
 * The Redis broker's two connections to the primary: commands (scripts,
 * reads) and the live channel's subscription. Reconnects with backoff; behind
 * Sentinel it leaves a demoted primary as soon as a promotion is announced,
 * and holds publishes back while one is under way.
 */
export class RedisLink {
  private command: Redis | undefined;
  private subscriber: Redis | undefined;
  private sentinelWatch: SentinelWatch | undefined;
  private closing = false;
  private isConnected = false;
  private connectedOnce = false;
  /** The primary Sentinel last announced, while connections may still reach the demoted one. */
  private switchedTo: { to: PrimarySwitch['to']; until: number } | undefined;
  /** While a replica is being promoted (until the switch, an abort, or this time), publishes answer 503. */
  private promotingUntil = 0;
  private lastFailureLogAt = 0;
  lastError: string | undefined;

  constructor(private readonly options: LinkOptions) {}

  /** Publish and reads can reach Redis now. */
  get connected(): boolean {
    return this.isConnected;
  }

  /** Creates both connections (and the Sentinel watch) and starts connecting; does not wait. */
  open(): void {
    const target = parseRedisUrl(this.options.url);
    if (target.sentinels) {
      this.sentinelWatch = new SentinelWatch(target, reconnectDelay, {
        promoting: () => this.primaryPromoting(),
        aborted: () => this.failoverAborted(),
        switched: (change) => this.primarySwitched(change),
      });
      this.sentinelWatch.start();
    }
    this.command = connectRedis(target, 'command', COMMAND_TIMEOUT_MS);
    this.subscriber = connectRedis(target, 'live');
    this.watchCommand(this.command);
    this.watchSubscriber(this.subscriber);
    this.command.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
  }

  close(): void {
    this.closing = true;
    this.sentinelWatch?.stop();
    this.command?.disconnect();
    this.subscriber?.disconnect();
  }

  /** The command connection, or `BrokerUnavailableError` while it is down. */
  commands(): Redis {
    const command = this.command;
    if (!command || !this.isConnected) throw new BrokerUnavailableError('redis is unreachable');
    return command;
  }

  /** Throws `BrokerUnavailableError` while a promotion is under way (what the old primary takes is lost). */
  checkWritable(): void {
    if (Date.now() < this.promotingUntil) throw new BrokerUnavailableError('redis primary is being replaced');
  }

  /** Runs a script by its SHA, loading it once when Redis does not know it (start, restart, SCRIPT FLUSH). */
  async run(operation: string, script: LuaScript, args: string[]): Promise<unknown> {
    const command = this.commands();
    try {
      try {
        return await command.evalsha(script.sha, 1, this.options.headKey, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await command.eval(script.lua, 1, this.options.headKey, ...args);
      }
    } catch (error) {
      throw this.unavailable(operation, error);
    }
  }

  unavailable(operation: string, error: unknown): BrokerUnavailableError {
    const message = error instanceof Error ? error.message : String(error);
    const now = Date.now();
    // Connection trouble is logged by the transitions; a failing command is worth a line, not a flood.
    if (now - this.lastFailureLogAt > 10_000) {
      this.lastFailureLogAt = now;
      this.options.logger.warn({ msg: `redis ${operation} failed`, error: message });
    }
    return new BrokerUnavailableError(`redis ${operation} failed: ${message}`);
  }

  /** Resolves when Redis answers a PING within `timeoutMs`. */
  ping(timeoutMs: number): Promise<void> {
    const command = this.commands();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BrokerUnavailableError(`redis did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      command.ping().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(this.unavailable('ping', error));
        },
      );
    });
  }

  /**
   * Sentinel is promoting a replica: what the old primary takes from now on is
   * lost once it is demoted, so publishes answer 503 until the switch.
   */
  private primaryPromoting(): void {
    this.promotingUntil = Date.now() + PROMOTION_HOLD_MS;
    this.options.logger.warn({ msg: 'redis primary being replaced', effect: 'publishes answer 503 until the switch' });
  }

  private failoverAborted(): void {
    if (this.promotingUntil === 0) return;
    this.promotingUntil = 0;
    this.options.logger.warn({ msg: 'redis failover aborted', effect: 'publishing to the same primary again' });
  }

  /**
   * Sentinel promoted a replica: leave the old primary at once, since it takes
   * writes until Sentinel demotes it seconds later, and they would be lost.
   */
  private primarySwitched(change: PrimarySwitch): void {
    this.promotingUntil = 0;
    this.options.logger.warn({
      msg: 'redis primary switched',
      from: change.from,
      to: `${change.to.host}:${change.to.port}`,
      effect: 'reconnecting to the new primary; publishes answer 503 meanwhile',
    });
    this.switchedTo = { to: change.to, until: Date.now() + SWITCH_TRUST_MS };
    for (const client of [this.command, this.subscriber]) {
      // A link waiting out its backoff (the old primary died) tries the new one now.
      if (client?.status === 'reconnecting') client.connect().catch(() => undefined);
      else if (client && !connectedTo(client.stream, change.to)) client.disconnect(true);
    }
  }

  /** False (and a reconnect) when a Sentinel that had not heard of the switch yet sent this link to the old primary. */
  private onNewPrimary(client: Redis): boolean {
    const switched = this.switchedTo;
    if (!switched || connectedTo(client.stream, switched.to)) return true;
    if (Date.now() > switched.until) {
      this.switchedTo = undefined;
      return true;
    }
    client.disconnect(true);
    return false;
  }

  private watchCommand(client: Redis): void {
    const { logger } = this.options;
    client.on('error', (error: Error) => (this.lastError = error.message));
    client.on('ready', () => {
      if (this.isConnected || !this.onNewPrimary(client)) return;
      this.isConnected = true;
      if (this.connectedOnce) {
        logger.log({ msg: 'redis connection restored', link: 'command' });
      } else {
        logger.log({ msg: 'redis connected', url: redactRedisUrl(this.options.url) });
      }
      this.connectedOnce = true;
      this.options.events.commandReady();
    });
    client.on('close', () => {
      if (!this.isConnected || this.closing) return;
      this.isConnected = false;
      logger.warn({ msg: 'redis connection lost', link: 'command', effect: 'publishes answer 503' });
    });
  }

  private watchSubscriber(client: Redis): void {
    const { channel, events } = this.options;
    client.on('error', (error: Error) => (this.lastError = error.message));
    client.on('message', (from: string, message: string) => {
      if (from === channel) events.message(message);
    });
    client.on('ready', () => {
      if (this.onNewPrimary(client)) void this.subscribe(client);
    });
    client.on('close', () => events.unsubscribed());
  }

  /** Live before history: subscribe, then the broker reads what was missed; nothing falls in between. */
  private async subscribe(client: Redis): Promise<void> {
    try {
      await client.subscribe(this.options.channel);
    } catch {
      return; // The connection dropped again; the next `ready` retries.
    }
    this.options.events.subscribed();
  }
}
