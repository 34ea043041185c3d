import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ChainableCommander } from 'ioredis';
import { formatEventId, parseEventId, type EventCursor } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import {
  BrokerUnavailableError,
  type BrokerState,
  type EventBroker,
  type IdempotentPublish,
  type LiveListener,
  type LiveLossListener,
  type PublishOnceResult,
  type PublishRequest,
  type ReplayResult,
  type TopicHistoryInfo,
} from './event-broker.js';
import type { HeraldEvent } from './herald-event.js';
import { LiveFeed } from './live-feed.js';
import {
  asArray,
  asEntries,
  catchUpArgs,
  decodeCatchUp,
  decodeLive,
  decodePublish,
  decodeReplay,
  entryEvent,
  publishArgs,
  replayArgs,
  type ScriptSettings,
} from './redis-codec.js';
import { reconnectDelay } from '../redis/redis-connections.js';
import { RedisLink } from './redis-link.js';
import { CATCH_UP_SCRIPT, PUBLISH_SCRIPT, REPLAY_SCRIPT } from './redis-scripts.js';
import { redactRedisUrl } from '../redis/redis-url.js';

/** How long start-up waits for Redis before it goes on without it (and keeps retrying). */
const STARTUP_WAIT_MS = 2_000;

/**
 * The scale-out broker: history in Redis Streams, ids from one counter in
 * Redis, the live feed over one Pub/Sub connection per process. Every write
 * is one Lua script (redis-scripts.ts), so two instances can never disagree
 * on an id, and a batch is one round trip.
 *
 * Composed of the link (redis-link.ts: connections, reconnects, Sentinel),
 * the live feed's gap recovery (live-feed.ts, no Redis in it) and the codec
 * (redis-codec.ts: script arguments, replies, entries, live messages).
 */
@Injectable()
export class RedisBroker implements EventBroker, OnModuleInit, OnApplicationShutdown {
  readonly kind = 'redis' as const;
  private readonly headKey: string;
  private readonly settings: ScriptSettings;
  private readonly link: RedisLink;
  private readonly feed: LiveFeed;
  private held = 0;
  /** Ends start-up's wait as soon as publishing and the live feed both work. */
  private whenUp: (() => void) | undefined;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    /** Every transition is logged once, when it happens: the log is the record of them. */
    private readonly logger = new Logger('RedisBroker'),
  ) {
    this.headKey = `${config.redisKeyPrefix}head`;
    this.settings = {
      prefix: config.redisKeyPrefix,
      channel: `${config.redisKeyPrefix}live`,
      historySize: config.historySize,
      historyTtlMs: config.historyTtlMs,
    };
    this.feed = new LiveFeed({
      reader: {
        readMissed: async (from) =>
          decodeCatchUp(await this.link.run('catch-up', CATCH_UP_SCRIPT, catchUpArgs(this.settings, from))),
      },
      logger: this.logger,
      retryDelay: reconnectDelay,
      onLive: () => this.checkUp(),
    });
    this.link = new RedisLink({
      url: config.redisUrl,
      channel: this.settings.channel,
      headKey: this.headKey,
      logger: this.logger,
      events: {
        commandReady: () => this.checkUp(),
        subscribed: () => this.feed.subscribed(),
        unsubscribed: () => this.feed.unsubscribed(),
        message: (message) => this.onMessage(message),
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STARTUP_WAIT_MS);
      this.whenUp = () => {
        clearTimeout(timer);
        resolve();
      };
      this.link.open();
    });
    this.whenUp = undefined;
    if (!this.link.connected || this.feed.state !== 'live') {
      this.logger.warn({
        msg: 'redis unreachable at start',
        url: redactRedisUrl(this.config.redisUrl),
        error: this.link.lastError,
        effect: 'retrying in the background; readiness is down meanwhile',
      });
    }
  }

  onApplicationShutdown(): void {
    this.feed.close();
    this.link.close();
  }

  epoch(): string {
    return this.feed.epoch();
  }

  historySize(): number {
    return this.held;
  }

  state(): BrokerState {
    return {
      connected: this.link.connected,
      liveFeed: this.feed.state,
    };
  }

  onLive(listener: LiveListener, onLoss?: LiveLossListener): () => void {
    return this.feed.onLive(listener, onLoss);
  }

  ping(timeoutMs: number): Promise<void> {
    if (!this.link.connected) return Promise.reject(new BrokerUnavailableError('redis is unreachable'));
    if (this.feed.state === 'down') return Promise.reject(new BrokerUnavailableError('the redis live feed is down'));
    return this.link.ping(timeoutMs);
  }

  async publish(requests: readonly PublishRequest[]): Promise<HeraldEvent[]> {
    if (requests.length === 0) return [];
    const result = await this.publishScript(requests, undefined);
    if (result.outcome !== 'published') throw new BrokerUnavailableError('unexpected reply from redis');
    return result.events;
  }

  /** The record is read and written inside the publish script: one call, atomic across instances. */
  publishOnce(requests: readonly PublishRequest[], once: IdempotentPublish): Promise<PublishOnceResult> {
    return this.publishScript(requests, once);
  }

  private async publishScript(
    requests: readonly PublishRequest[],
    once: IdempotentPublish | undefined,
  ): Promise<PublishOnceResult> {
    this.link.checkWritable();
    const args = publishArgs(this.settings, this.feed.highestSeq, requests, once);
    const { result, written } = decodePublish(await this.link.run('publish', PUBLISH_SCRIPT, args), requests);
    if (written) {
      this.held = written.held;
      this.feed.noteHead(written.epoch, written.lastSeq);
    }
    return result;
  }

  async replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult> {
    const args = replayArgs(this.settings, this.feed.highestSeq, topics, cursor);
    const { epoch, held, result } = decodeReplay(await this.link.run('replay', REPLAY_SCRIPT, args), topics, cursor);
    this.held = held;
    this.feed.handedOut(epoch, result.headSeq);
    return result;
  }

  /** The newest entry of each topic, read with the head in one atomic step (`headRead`). */
  async latest(topics: readonly string[]): Promise<ReplayResult> {
    const read = await this.headRead('latest', topics, (multi, key) => multi.xrevrange(key, '+', '-', 'COUNT', 1));
    const { epoch, headSeq, cutoff, replies } = read;
    this.feed.handedOut(epoch, headSeq);
    const events = topics
      .flatMap((topic, i) => asEntries(replies[i]).map((entry) => entryEvent(epoch, topic, entry)))
      .filter((event) => event.ts >= cutoff)
      .sort((a, b) => a.seq - b.seq);
    return { events, reset: false, head: formatEventId(epoch, headSeq), headSeq };
  }

  /** Each topic's newest entry and length (XLEN, which may still count entries past the TTL, not yet trimmed). */
  async topicHistory(topics: readonly string[]): Promise<TopicHistoryInfo[]> {
    const { epoch, cutoff, replies } = await this.headRead('topic info', topics, (multi, key) =>
      multi.xrevrange(key, '+', '-', 'COUNT', 1).xlen(key),
    );
    return topics.map((topic, i) => {
      const newest = asEntries(replies[2 * i]).map((entry) => entryEvent(epoch, topic, entry))[0];
      if (newest === undefined || newest.ts < cutoff) return { lastEventId: null, lastEventAt: null, retained: 0 };
      return { lastEventId: newest.id, lastEventAt: newest.ts, retained: Number(replies[2 * i + 1]) };
    });
  }

  /** ZSCAN of the epoch's topic index (topic -> ms of its newest event): O(topics) per call. */
  async retainedTopics(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    const command = this.link.commands();
    const cutoff = Date.now() - this.config.historyTtlMs;
    const found: string[] = [];
    try {
      let cursor = '0';
      do {
        const [next, flat] = await command.zscan(
          `${this.config.redisKeyPrefix}${this.epoch()}:topics`,
          cursor,
          'MATCH',
          `${prefix}*`,
          'COUNT',
          1000,
        );
        for (let i = 0; i < flat.length; i += 2) {
          const topic = flat[i];
          if ((after === undefined || topic > after) && Number(flat[i + 1]) >= cutoff) found.push(topic);
        }
        cursor = next;
      } while (cursor !== '0');
    } catch (error) {
      throw this.link.unavailable('topic list', error);
    }
    return [...new Set(found)].sort().slice(0, limit);
  }

  /**
   * One MULTI (atomic, one round trip): the head, the Redis clock and what
   * `add` asks of each topic's stream. Read-only; when the head is missing or
   * in another epoch than this process knows, a replay read settles it first.
   * `replies` holds what `add` queued, in order.
   */
  private async headRead(
    operation: string,
    topics: readonly string[],
    add: (multi: ChainableCommander, key: string) => void,
  ): Promise<{ epoch: string; headSeq: number; cutoff: number; replies: unknown[] }> {
    let epoch = this.epoch();
    for (let attempt = 0; ; attempt++) {
      const command = this.link.commands();
      const base = `${this.config.redisKeyPrefix}${epoch}:t:`;
      const multi = command.multi().hmget(this.headKey, 'epoch', 'seq').time();
      for (const topic of topics) add(multi, base + topic);
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await multi.exec();
      } catch (error) {
        throw this.link.unavailable(operation, error);
      }
      if (!replies || replies.some(([error]) => error !== null)) {
        const failure = replies?.find(([error]) => error !== null)?.[0] ?? 'transaction aborted';
        throw this.link.unavailable(operation, failure);
      }
      const [headEpoch, headSeqText] = asArray(replies[0][1]) as (string | null)[];
      if (headEpoch !== epoch || headSeqText === null) {
        // The head is new to this process (or gone): the replay script reads or re-creates it.
        if (attempt > 0) throw this.link.unavailable(operation, 'the epoch changed during the read');
        epoch = parseEventId((await this.replay(topics, null)).head)?.epoch ?? epoch;
        continue;
      }
      const headSeq = Number(headSeqText);
      const [seconds, micros] = (asArray(replies[1][1]) as string[]).map(Number);
      const cutoff = seconds * 1000 + Math.floor(micros / 1000) - this.config.historyTtlMs;
      this.feed.noteHead(epoch, headSeq);
      return { epoch, headSeq, cutoff, replies: replies.slice(2).map(([, value]) => value) };
    }
  }

  private onMessage(message: string): void {
    const decoded = decodeLive(message);
    if (!decoded) {
      this.logger.error({
        msg: 'ignored a message on the live channel that Herald did not write',
        channel: this.settings.channel,
      });
      return;
    }
    if (decoded.held !== undefined) this.held = decoded.held;
    this.feed.receive(decoded.batch);
  }

  private checkUp(): void {
    if (this.link.connected && this.feed.state === 'live') this.whenUp?.();
  }
}
