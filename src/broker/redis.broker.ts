import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { formatEventId, newEpoch, parseEventId, type EventCursor } from '@herald/sse';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import {
  BROKER_TRANSITIONS,
  BrokerUnavailableError,
  type BrokerState,
  type BrokerTransition,
  type EventBroker,
  type IdempotentPublish,
  type LiveListener,
  type LiveLoss,
  type LiveLossListener,
  type PublishOnceResult,
  type PublishRequest,
  type ReplayResult,
  type TopicHistoryInfo,
} from './event-broker.js';
import { HeraldEvent } from './herald-event.js';
import { recordedIds } from './idempotency-records.js';
import { mergeBySeq } from './merge-by-seq.js';
import { CATCH_UP_SCRIPT, PUBLISH_SCRIPT, REPLAY_SCRIPT, type LuaScript } from './redis-scripts.js';
import { connectedTo, SentinelWatch, type PrimarySwitch } from './redis-sentinel-watch.js';
import { parseRedisUrl, redactRedisUrl, type RedisTarget } from './redis-url.js';

/** A publish or replay that takes longer than this answers 503 rather than hanging the request. */
const COMMAND_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 2_000;
/** How long start-up waits for Redis before it goes on without it (and keeps retrying). */
const STARTUP_WAIT_MS = 2_000;
/** Events the gap log remembers: how far behind a process's live feed can fall and still catch up exactly. */
const GAP_LOG_LENGTH = 100_000;
/** Whole expired topics forgotten per publish (amortized cleanup). */
const SWEEP_LIMIT = 20;
/** Events read per catch-up round, so one round never blocks Redis for long. */
const CATCH_UP_CHUNK = 1_000;
/** Live batches held while catching up; past this they are dropped and re-read from history. */
const PENDING_LIMIT = 10_000;

/** The longest a promotion holds publishes back when its `+switch-master` never comes. */
const PROMOTION_HOLD_MS = 5_000;
/** How long after a `+switch-master` a link to any other node than the one announced is dropped again. */
const SWITCH_TRUST_MS = 10_000;

/** Reconnection backoff: 100 ms doubling to 2 s, ±25 % jitter so instances do not reconnect in step. */
function reconnectDelay(attempt: number): number {
  const base = Math.min(2_000, 50 * 2 ** Math.min(Math.max(attempt, 1), 6));
  return Math.round(base * (0.75 + Math.random() / 2));
}

/** ioredis options for both connections to the primary (found through Sentinel when the URL names some). */
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

type StreamEntry = [id: string, fields: string[]];

interface LiveBatch {
  epoch: string;
  first: number;
  events: HeraldEvent[];
}

interface CatchUpChunk {
  epoch: string;
  headSeq: number;
  logExact: boolean;
  upto: number;
  topics: { topic: string; entries: StreamEntry[] }[];
}

/**
 * The scale-out broker: history in Redis Streams, ids from one counter in
 * Redis, the live feed over one Pub/Sub connection per process. Every write
 * is one Lua script (redis-scripts.ts), so two instances can never disagree
 * on an id, and a batch is one round trip.
 *
 * The live feed remembers the last seq it emitted. When its connection comes
 * back, or a live message skips a seq, it subscribes first and then reads what
 * it missed from the gap log and the topic streams, so listeners see every
 * event once, in order, as if nothing had happened; what Redis no longer
 * holds is reported through `onLoss`.
 */
@Injectable()
export class RedisBroker implements EventBroker, OnModuleInit, OnApplicationShutdown {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('RedisBroker');
  private readonly headKey: string;
  private readonly channel: string;
  private command: Redis | undefined;
  private subscriber: Redis | undefined;
  private closing = false;
  private sentinelWatch: SentinelWatch | undefined;
  /** The primary Sentinel last announced, while connections may still reach the demoted one. */
  private switchedTo: { to: PrimarySwitch['to']; until: number } | undefined;
  /** While a replica is being promoted (until the switch, an abort, or this time), publishes answer 503. */
  private promotingUntil = 0;

  private connected = false;
  private connectedOnce = false;
  private feed: BrokerState['liveFeed'] = 'down';
  private feedSubscribed = false;
  /** Counts subscribes, so a catch-up read that raced a re-subscribe is done again. */
  private feedSubscription = 0;
  private feedLostAt: number | undefined;
  private readonly pending: LiveBatch[] = [];
  private catchingUp = false;
  /** Epoch and last seq of the live feed; undefined until its first read of the head. */
  private feedEpoch: string | undefined;
  private feedSeq = 0;
  /** Epochs the feed has left behind (newest first, a few): their late batches are ignored. */
  private pastEpochs: string[] = [];
  /** The lowest head handed to a stream before the feed had its own: the feed starts there. */
  private baselineHint: { epoch: string; seq: number } | undefined;
  /** The highest head a replay has returned, and its epoch: streams may stand there already. */
  private replayHead = { epoch: '', seq: 0 };

  private knownEpoch = '';
  /** Highest seq seen in any epoch: a new epoch starts above it, so open streams keep receiving. */
  private highestSeq = 0;
  private held = 0;
  private recovered = 0;
  private readonly counts = Object.fromEntries(BROKER_TRANSITIONS.map((name) => [name, 0])) as Record<
    BrokerTransition,
    number
  >;
  private lastError: string | undefined;
  private lastFailureLogAt = 0;
  /** Ends start-up's wait as soon as publishing and the live feed both work. */
  private whenUp: (() => void) | undefined;

  private readonly listeners = new Set<LiveListener>();
  private readonly lossListeners = new Set<LiveLossListener>();

  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {
    this.headKey = `${config.redisKeyPrefix}head`;
    this.channel = `${config.redisKeyPrefix}live`;
  }

  async onModuleInit(): Promise<void> {
    const target = parseRedisUrl(this.config.redisUrl);
    const options = connectionOptions(target);
    if (target.sentinels) {
      this.sentinelWatch = new SentinelWatch(target, reconnectDelay, {
        promoting: () => this.primaryPromoting(),
        aborted: () => this.failoverAborted(),
        switched: (change) => this.primarySwitched(change),
      });
      this.sentinelWatch.start();
    }
    this.command = new Redis({
      ...options,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectionName: `herald-command-${process.pid}`,
    });
    this.subscriber = new Redis({ ...options, connectionName: `herald-live-${process.pid}` });
    this.watchCommand(this.command);
    this.watchSubscriber(this.subscriber);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STARTUP_WAIT_MS);
      this.whenUp = () => {
        clearTimeout(timer);
        resolve();
      };
      this.command?.connect().catch(() => undefined);
      this.subscriber?.connect().catch(() => undefined);
    });
    this.whenUp = undefined;
    if (!this.connected || this.feed !== 'live') {
      this.logger.warn({
        msg: 'redis unreachable at start',
        url: redactRedisUrl(this.config.redisUrl),
        error: this.lastError,
        effect: 'retrying in the background; readiness is down meanwhile',
      });
    }
  }

  onApplicationShutdown(): void {
    this.closing = true;
    this.sentinelWatch?.stop();
    this.command?.disconnect();
    this.subscriber?.disconnect();
    this.listeners.clear();
    this.lossListeners.clear();
  }

  epoch(): string {
    return this.feedEpoch ?? this.knownEpoch;
  }

  historySize(): number {
    return this.held;
  }

  state(): BrokerState {
    return {
      connected: this.connected,
      liveFeed: this.feed,
      epoch: this.epoch(),
      lastLiveSeq: this.feedSeq,
      recoveredEvents: this.recovered,
      transitions: { ...this.counts },
    };
  }

  onLive(listener: LiveListener, onLoss?: LiveLossListener): () => void {
    this.listeners.add(listener);
    if (onLoss) this.lossListeners.add(onLoss);
    return () => {
      this.listeners.delete(listener);
      if (onLoss) this.lossListeners.delete(onLoss);
    };
  }

  ping(timeoutMs: number): Promise<void> {
    const command = this.command;
    if (!command || !this.connected) return Promise.reject(new BrokerUnavailableError('redis is unreachable'));
    if (this.feed === 'down') return Promise.reject(new BrokerUnavailableError('the redis live feed is down'));
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
    if (Date.now() < this.promotingUntil) throw new BrokerUnavailableError('redis primary is being replaced');
    const args: string[] = [
      this.config.redisKeyPrefix,
      this.channel,
      newEpoch(),
      String(this.highestSeq),
      String(this.config.historySize),
      String(this.config.historyTtlMs),
      String(GAP_LOG_LENGTH),
      String(SWEEP_LIMIT),
      once?.key ?? '',
      once?.fingerprint ?? '',
      String(once?.ttlMs ?? 0),
    ];
    // Other instances rebuild `data` from this JSON; `undefined` has none, so it travels as null everywhere.
    const data = requests.map((request) => (request.data === undefined ? null : request.data));
    requests.forEach((request, i) => args.push(request.topic, request.type, JSON.stringify(data[i])));
    const reply = asArray(await this.run('publish', PUBLISH_SCRIPT, args));
    const epoch = asString(reply[0]);
    const first = asNumber(reply[1]);
    if (reply.length > 4) {
      if (asString(reply[4]) === 'mismatch') return { outcome: 'mismatch' };
      return { outcome: 'replayed', ids: recordedIds({ epoch, firstSeq: first, count: asNumber(reply[5]) }) };
    }
    const ts = asNumber(reply[2]);
    this.held = asNumber(reply[3]);
    this.noteHead(epoch, first + requests.length - 1);
    const events = requests.map(
      (request, i) =>
        new HeraldEvent(formatEventId(epoch, first + i), first + i, request.topic, request.type, data[i], ts),
    );
    return { outcome: 'published', events };
  }

  async replay(topics: readonly string[], cursor: EventCursor | null): Promise<ReplayResult> {
    const reply = asArray(
      await this.run('replay', REPLAY_SCRIPT, [
        this.config.redisKeyPrefix,
        newEpoch(),
        String(this.highestSeq),
        String(this.config.historyTtlMs),
        cursor?.epoch ?? '',
        cursor === null ? '' : String(cursor.seq),
        ...topics,
      ]),
    );
    const epoch = asString(reply[0]);
    const headSeq = asNumber(reply[1]);
    const reset = asNumber(reply[2]) === 1;
    this.held = asNumber(reply[3]);
    this.handedOut(epoch, headSeq);
    const result: ReplayResult = { events: [], reset, head: formatEventId(epoch, headSeq), headSeq };
    if (reset || cursor === null) return result;
    result.events = mergeBySeq(
      topics.map((topic, i) => asEntries(reply[4 + i]).map((entry) => entryEvent(epoch, topic, entry))),
    );
    return result;
  }

  /** The newest entry of each topic, read with the head in one atomic step (`headRead`). */
  async latest(topics: readonly string[]): Promise<ReplayResult> {
    const read = await this.headRead('latest', topics, (multi, key) => multi.xrevrange(key, '+', '-', 'COUNT', 1));
    const { epoch, headSeq, cutoff, replies } = read;
    this.handedOut(epoch, headSeq);
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
    const command = this.command;
    if (!command || !this.connected) throw new BrokerUnavailableError('redis is unreachable');
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
      throw this.unavailable('topic list', error);
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
      const command = this.command;
      if (!command || !this.connected) throw new BrokerUnavailableError('redis is unreachable');
      const base = `${this.config.redisKeyPrefix}${epoch}:t:`;
      const multi = command.multi().hmget(this.headKey, 'epoch', 'seq').time();
      for (const topic of topics) add(multi, base + topic);
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await multi.exec();
      } catch (error) {
        throw this.unavailable(operation, error);
      }
      if (!replies || replies.some(([error]) => error !== null)) {
        throw this.unavailable(operation, replies?.find(([error]) => error !== null)?.[0] ?? 'transaction aborted');
      }
      const [headEpoch, headSeqText] = asArray(replies[0][1]) as (string | null)[];
      if (headEpoch !== epoch || headSeqText === null) {
        // The head is new to this process (or gone): the replay script reads or re-creates it.
        if (attempt > 0) throw this.unavailable(operation, 'the epoch changed during the read');
        epoch = parseEventId((await this.replay(topics, null)).head)?.epoch ?? epoch;
        continue;
      }
      const headSeq = Number(headSeqText);
      const [seconds, micros] = (asArray(replies[1][1]) as string[]).map(Number);
      const cutoff = seconds * 1000 + Math.floor(micros / 1000) - this.config.historyTtlMs;
      this.noteHead(epoch, headSeq);
      return { epoch, headSeq, cutoff, replies: replies.slice(2).map(([, value]) => value) };
    }
  }

  /** A head handed to streams: the live feed must not start (or restart) below it. */
  private handedOut(epoch: string, headSeq: number): void {
    if (this.feedEpoch === undefined) {
      const hint = this.baselineHint;
      if (!hint || hint.epoch !== epoch || hint.seq > headSeq) this.baselineHint = { epoch, seq: headSeq };
    }
    if (epoch !== this.replayHead.epoch) this.replayHead = { epoch, seq: headSeq };
    else if (headSeq > this.replayHead.seq) this.replayHead.seq = headSeq;
  }

  /** Runs a script by its SHA, loading it once when Redis does not know it (start, restart, SCRIPT FLUSH). */
  private async run(operation: string, script: LuaScript, args: string[]): Promise<unknown> {
    const command = this.command;
    if (!command || !this.connected) throw new BrokerUnavailableError('redis is unreachable');
    try {
      try {
        return await command.evalsha(script.sha, 1, this.headKey, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await command.eval(script.lua, 1, this.headKey, ...args);
      }
    } catch (error) {
      throw this.unavailable(operation, error);
    }
  }

  private unavailable(operation: string, error: unknown): BrokerUnavailableError {
    const message = error instanceof Error ? error.message : String(error);
    const now = Date.now();
    // Connection trouble is logged by the transitions; a failing command is worth a line, not a flood.
    if (now - this.lastFailureLogAt > 10_000) {
      this.lastFailureLogAt = now;
      this.logger.warn({ msg: `redis ${operation} failed`, error: message });
    }
    return new BrokerUnavailableError(`redis ${operation} failed: ${message}`);
  }

  private noteHead(epoch: string, seq: number): void {
    this.knownEpoch = epoch;
    if (seq > this.highestSeq) this.highestSeq = seq;
  }

  /**
   * Sentinel is promoting a replica: what the old primary takes from now on is
   * lost once it is demoted, so publishes answer 503 until the switch.
   */
  private primaryPromoting(): void {
    this.promotingUntil = Date.now() + PROMOTION_HOLD_MS;
    this.logger.warn({ msg: 'redis primary being replaced', effect: 'publishes answer 503 until the switch' });
  }

  private failoverAborted(): void {
    if (this.promotingUntil === 0) return;
    this.promotingUntil = 0;
    this.logger.warn({ msg: 'redis failover aborted', effect: 'publishing to the same primary again' });
  }

  /**
   * Sentinel promoted a replica: leave the old primary at once, since it takes
   * writes until Sentinel demotes it seconds later, and they would be lost.
   */
  private primarySwitched(change: PrimarySwitch): void {
    this.promotingUntil = 0;
    this.logger.warn({
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

  private checkUp(): void {
    if (this.connected && this.feed === 'live') this.whenUp?.();
  }

  private count(transition: BrokerTransition): void {
    this.counts[transition]++;
  }

  private watchCommand(client: Redis): void {
    client.on('error', (error: Error) => (this.lastError = error.message));
    client.on('ready', () => {
      if (this.connected || !this.onNewPrimary(client)) return;
      this.connected = true;
      if (this.connectedOnce) {
        this.count('connection-restored');
        this.logger.log({ msg: 'redis connection restored', link: 'command' });
      } else {
        this.logger.log({ msg: 'redis connected', url: redactRedisUrl(this.config.redisUrl) });
      }
      this.connectedOnce = true;
      this.checkUp();
    });
    client.on('close', () => {
      if (!this.connected || this.closing) return;
      this.connected = false;
      this.count('connection-lost');
      this.logger.warn({ msg: 'redis connection lost', link: 'command', effect: 'publishes answer 503' });
    });
  }

  private watchSubscriber(client: Redis): void {
    client.on('error', (error: Error) => (this.lastError = error.message));
    client.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.onMessage(message);
    });
    client.on('ready', () => {
      if (this.onNewPrimary(client)) void this.subscribe(client);
    });
    client.on('close', () => {
      this.feedSubscribed = false;
      this.pending.length = 0;
      if (this.feed === 'down' || this.closing) return;
      this.feed = 'down';
      this.feedLostAt = Date.now();
      this.count('live-feed-lost');
      this.logger.warn({
        msg: 'redis live feed lost',
        lastLiveSeq: this.feedSeq,
        effect: 'events wait in history until it is back',
      });
    });
  }

  /** Live before history: subscribe, then read what was missed; nothing falls in between. */
  private async subscribe(client: Redis): Promise<void> {
    try {
      await client.subscribe(this.channel);
    } catch {
      return; // The connection dropped again; the next `ready` retries.
    }
    this.feedSubscribed = true;
    this.feedSubscription++;
    this.feed = 'catching-up';
    this.startCatchUp();
  }

  private onMessage(message: string): void {
    const batch = this.decode(message);
    if (!batch) return;
    if (this.feed !== 'live') {
      if (this.pending.length >= PENDING_LIMIT) this.pending.length = 0;
      this.pending.push(batch);
    } else if (batch.epoch === this.feedEpoch && batch.first <= this.feedSeq) {
      // A live batch arrives once: one at or below the feed's seq means Redis went back in time.
      // The catch-up read carries this process's highest seq, so Redis moves to a new epoch.
      this.logger.warn({
        msg: 'redis seq went backwards',
        epoch: batch.epoch,
        seq: batch.first,
        lastLiveSeq: this.feedSeq,
      });
      this.pending.push(batch);
      this.feed = 'catching-up';
      this.startCatchUp();
    } else if (!this.continueFeed(batch)) {
      this.pending.push(batch);
      this.feed = 'catching-up';
      this.startCatchUp();
    }
  }

  /** Emits a live batch that continues the feed; false (nothing emitted) when it shows a gap. */
  private continueFeed(batch: LiveBatch): boolean {
    if (this.pastEpochs.includes(batch.epoch)) return true; // Published before its history was lost.
    if (batch.epoch !== this.feedEpoch) {
      // Redis lost its data while this connection stayed up: the feed goes on in the new epoch.
      this.restartFeed(batch.epoch, batch.first - 1);
    }
    if (batch.first > this.feedSeq + 1) return false;
    const fresh = batch.events.filter((event) => event.seq > this.feedSeq);
    if (fresh.length > 0) this.emit(fresh);
    return true;
  }

  private startCatchUp(): void {
    if (!this.catchingUp) void this.catchUp();
  }

  /**
   * Reads history after the feed's last seq until it reaches the head (read
   * after subscribing), then replays the live batches that arrived meanwhile.
   */
  private async catchUp(): Promise<void> {
    this.catchingUp = true;
    let recovered = 0;
    let failures = 0;
    const fromSeq = this.feedSeq;
    try {
      while (this.feedSubscribed && !this.closing) {
        const subscription = this.feedSubscription;
        let chunk: CatchUpChunk;
        try {
          chunk = await this.readMissed();
          failures = 0;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, reconnectDelay(++failures)));
          continue;
        }
        // Read before the latest subscribe: what came in between is in neither; read again.
        if (subscription !== this.feedSubscription) continue;
        recovered += this.applyMissed(chunk);
        if (this.feedSeq < chunk.headSeq) continue;
        // Caught up with a head read after subscribing: everything newer is in `pending`.
        const queued = this.pending.splice(0);
        const gapAt = queued.findIndex((batch) => !this.continueFeed(batch));
        if (gapAt < 0) {
          this.feed = 'live';
          break;
        }
        this.pending.unshift(...queued.slice(gapAt));
      }
    } finally {
      this.catchingUp = false;
    }
    if (this.feed !== 'live') return;
    this.checkUp();
    this.recovered += recovered;
    if (recovered > 0) this.count('gap-filled');
    if (this.feedLostAt !== undefined) {
      this.count('live-feed-restored');
      this.logger.log({
        msg: 'redis live feed restored',
        downMs: Date.now() - this.feedLostAt,
        recoveredEvents: recovered,
        fromSeq,
        toSeq: this.feedSeq,
      });
      this.feedLostAt = undefined;
    } else if (recovered > 0) {
      this.logger.log({ msg: 'redis live feed filled a gap', recoveredEvents: recovered, fromSeq });
    }
  }

  private async readMissed(): Promise<CatchUpChunk> {
    const reply = asArray(
      await this.run('catch-up', CATCH_UP_SCRIPT, [
        this.config.redisKeyPrefix,
        newEpoch(),
        String(this.highestSeq),
        this.feedEpoch === undefined ? '' : String(this.feedSeq),
        String(CATCH_UP_CHUNK),
        this.feedEpoch ?? '',
      ]),
    );
    const topics: CatchUpChunk['topics'] = [];
    for (let i = 4; i + 1 < reply.length; i += 2) {
      topics.push({ topic: asString(reply[i]), entries: asEntries(reply[i + 1]) });
    }
    return {
      epoch: asString(reply[0]),
      headSeq: asNumber(reply[1]),
      logExact: asNumber(reply[2]) === 1,
      upto: asNumber(reply[3]),
      topics,
    };
  }

  /** Emits what a catch-up read recovered; returns how many events. */
  private applyMissed(chunk: CatchUpChunk): number {
    this.noteHead(chunk.epoch, chunk.headSeq);
    if (this.feedEpoch === undefined) {
      // The first read: start where the earliest stream started, or at the head when none did.
      const hint = this.baselineHint;
      this.baselineHint = undefined;
      this.feedEpoch = chunk.epoch;
      this.feedSeq = hint && hint.epoch === chunk.epoch ? Math.min(hint.seq, chunk.headSeq) : chunk.headSeq;
      return 0;
    }
    if (chunk.epoch !== this.feedEpoch) {
      // Go on where the new epoch began (the catch-up then reads it exactly), yet never behind a seq
      // this process already emitted or handed to a stream as a replay's head.
      const replayed = this.replayHead.epoch === chunk.epoch ? this.replayHead.seq : 0;
      this.restartFeed(chunk.epoch, Math.min(chunk.headSeq, Math.max(chunk.upto, this.feedSeq, replayed)));
      return 0;
    }
    if (!chunk.logExact) {
      this.loss({ epoch: chunk.epoch, seq: chunk.upto, topics: null });
      return 0;
    }
    const after = this.feedSeq;
    const lists: HeraldEvent[][] = [];
    const lostTopics: string[] = [];
    for (const { topic, entries } of chunk.topics) {
      // The topic's oldest kept entry after the cursor must name a predecessor at or before it.
      if (entries.length === 0 || entryPrevious(entries[0]) > after) lostTopics.push(topic);
      else lists.push(entries.map((entry) => entryEvent(chunk.epoch, topic, entry)));
    }
    const events = mergeBySeq(lists);
    if (events.length > 0) this.emit(events);
    if (lostTopics.length > 0) this.loss({ epoch: chunk.epoch, seq: chunk.upto, topics: lostTopics });
    this.feedSeq = chunk.upto;
    return events.length;
  }

  /** A new epoch (Redis lost its data): the feed continues after `seq` of it, and streams must reset. */
  private restartFeed(epoch: string, seq: number): void {
    const previous = this.feedEpoch;
    if (previous !== undefined) this.pastEpochs = [previous, ...this.pastEpochs.slice(0, 15)];
    this.count('epoch-changed');
    this.logger.warn({ msg: 'redis epoch changed', previous, epoch, effect: 'history starts over' });
    this.loss({ epoch, seq, topics: null });
  }

  private loss(loss: LiveLoss): void {
    this.feedEpoch = loss.epoch;
    this.feedSeq = loss.seq;
    this.count('history-lost');
    this.logger.warn({
      msg: 'redis history lost',
      effect: 'the live feed skips events redis no longer holds',
      epoch: loss.epoch,
      seq: loss.seq,
      topics: loss.topics ?? 'all',
    });
    for (const listener of this.lossListeners) listener(loss);
  }

  private emit(events: HeraldEvent[]): void {
    this.feedSeq = events[events.length - 1].seq;
    if (this.feedSeq > this.highestSeq) this.highestSeq = this.feedSeq;
    for (const listener of this.listeners) listener(events);
  }

  private decode(message: string): LiveBatch | undefined {
    try {
      const parsed = JSON.parse(message) as { e?: unknown; s?: unknown; ts?: unknown; h?: unknown; v?: unknown };
      const { e: epoch, s: first, ts, h: held, v: items } = parsed;
      if (typeof epoch !== 'string' || !Number.isSafeInteger(first) || typeof ts !== 'number') throw new Error();
      if (!Array.isArray(items)) throw new Error();
      if (typeof held === 'number') this.held = held;
      const start = first as number;
      const events = items.map((item: unknown, i) => {
        if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[1] !== 'string') throw new Error();
        return new HeraldEvent(formatEventId(epoch, start + i), start + i, item[0], item[1], item[2] as unknown, ts);
      });
      return { epoch, first: start, events };
    } catch {
      this.logger.error({
        msg: 'ignored a message on the live channel that Herald did not write',
        channel: this.channel,
      });
      return undefined;
    }
  }
}

function entryEvent(epoch: string, topic: string, [id, fields]: StreamEntry): HeraldEvent {
  const seq = Number.parseInt(id, 10);
  let type = '';
  let data: unknown = null;
  let ts = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'y') type = fields[i + 1];
    else if (fields[i] === 'd') data = JSON.parse(fields[i + 1]);
    else if (fields[i] === 'ts') ts = Number(fields[i + 1]);
  }
  return new HeraldEvent(formatEventId(epoch, seq), seq, topic, type, data, ts);
}

/** The seq of the topic's event before this one (`p`); missing means unknown, which counts as a gap. */
function entryPrevious([, fields]: StreamEntry): number {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'p') return Number(fields[i + 1]);
  return Number.POSITIVE_INFINITY;
}

function asArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new BrokerUnavailableError('unexpected reply from redis');
  return value;
}

function asString(value: unknown): string {
  if (typeof value !== 'string') throw new BrokerUnavailableError('unexpected reply from redis');
  return value;
}

function asNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new BrokerUnavailableError('unexpected reply from redis');
  }
  return value;
}

function asEntries(value: unknown): StreamEntry[] {
  return asArray(value) as StreamEntry[];
}
