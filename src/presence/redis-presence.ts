import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { HeraldConfig } from '../config/herald-config.js';
import { connectRedis } from '../redis/redis-connections.js';
import { parseRedisUrl } from '../redis/redis-url.js';
import type { OccupancyListener } from './occupancy-source.js';
import { LocalCounts, sweepIntervalMs, TransitionListeners } from './local-counts.js';
import { PAGE_LUA, SWEEP_LUA, SYNC_LUA } from './presence-scripts.js';
import {
  PresenceUnavailableError,
  type MemberKey,
  type PresencePage,
  type PresenceTracker,
} from './presence-tracker.js';

/** The longest one presence command may take before the answer is "unavailable". */
const COMMAND_TIMEOUT_MS = 2_000;
/** Dead instances reaped and due topics vacated per sweep (a sweep runs at least once a second). */
const SWEEP_LIMIT = 100;

type Reply = [fresh: number, now: number, topics: string[], at?: string[]];
interface PresenceCommands {
  heraldPresenceSync(...args: (string | number)[]): Promise<Reply>;
  heraldPresenceSweep(...args: (string | number)[]): Promise<Reply>;
  heraldPresencePage(...args: (string | number)[]): Promise<[number, number, string[], (string | null)[]]>;
}

/**
 * Presence across instances over Redis (presence-scripts.ts has the keys).
 * Streams change the local counts synchronously; the topics and members that
 * changed in one event-loop turn go out in ONE script call, as absolute
 * counts, so a retried or repeated call is harmless. Each instance renews its
 * presence every sweep; when it stops (SIGKILL, a partition), any other
 * instance reaps its streams within PRESENCE_TTL_MS plus one sweep.
 *
 * Reads are exact or refused: while this instance's counts are not known to
 * be in Redis (disconnected, a failed write, reaped and not yet rewritten)
 * they reject with `PresenceUnavailableError`.
 */
export class RedisPresence implements PresenceTracker {
  readonly enabled = true;
  private readonly logger = new Logger('Presence');
  private readonly local = new LocalCounts();
  private readonly listeners = new TransitionListeners((error) =>
    this.logger.error({ msg: 'occupancy listener failed', error: String(error) }),
  );
  private readonly instance = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly prefix: string;
  private redis: (Redis & PresenceCommands) | undefined;
  private dirtyTopics = new Set<string>();
  private dirtyMembers = new Map<string, Set<MemberKey>>();
  private flushScheduled = false;
  /** Set by a failed write or an unknown-instance answer; cleared by the next complete, successful write. */
  private stale = true;
  private closing = false;
  private lastErrorLogAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly config: HeraldConfig) {
    this.prefix = config.redisKeyPrefix;
  }

  start(): void {
    const redis = connectRedis(parseRedisUrl(this.config.redisUrl), 'presence', COMMAND_TIMEOUT_MS) as Redis &
      PresenceCommands;
    redis.defineCommand('heraldPresenceSync', { numberOfKeys: 0, lua: SYNC_LUA });
    redis.defineCommand('heraldPresenceSweep', { numberOfKeys: 0, lua: SWEEP_LUA });
    redis.defineCommand('heraldPresencePage', { numberOfKeys: 0, lua: PAGE_LUA });
    // A new link may reach a Redis that lost our counts (restart, failover): write them all again.
    redis.on('ready', () => this.rewriteAll());
    redis.on('close', () => (this.stale = true));
    redis.on('error', (error: Error) => this.failed('connection', error));
    redis.connect().catch(() => undefined);
    this.redis = redis;
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs(this.config.vacatedGraceMs));
    this.timer.unref();
  }

  /** Takes this instance's streams out of the counts (their topics start the vacate grace), then disconnects. */
  async stop(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    const redis = this.redis;
    if (!redis) return;
    if (redis.status === 'ready') {
      // TTL 0: reap this instance itself; limit 0: what others must report stays theirs.
      await redis
        .heraldPresenceSweep(this.prefix, this.instance, 0, this.config.vacatedGraceMs, 0)
        .catch(() => undefined);
    }
    redis.disconnect();
  }

  join(topic: string, member: MemberKey | undefined): void {
    this.local.join(topic, member);
    this.changed(topic, member);
  }

  leave(topic: string, member: MemberKey | undefined): void {
    this.local.leave(topic, member);
    this.changed(topic, member);
  }

  onTransition(listener: OccupancyListener): () => void {
    return this.listeners.add(listener);
  }

  async counts(topics: readonly string[]): Promise<number[]> {
    if (topics.length === 0) return [];
    const redis = this.exact();
    const counts = await this.read(() => redis.hmget(`${this.prefix}pr:c`, ...topics));
    return counts.map((count) => Number(count ?? 0));
  }

  async members(topic: string, after: MemberKey | undefined, limit: number): Promise<PresencePage> {
    const redis = this.exact();
    const [subscribers, named, keys, counts] = await this.read(() =>
      redis.heraldPresencePage(this.prefix, topic, after ?? '', limit),
    );
    const taken = keys.slice(0, limit);
    return {
      subscribers: Number(subscribers),
      anonymous: Number(subscribers) - Number(named),
      members: taken.map((key, i) => ({ key, connections: Number(counts[i] ?? 0) })),
      next: keys.length > limit ? taken[taken.length - 1] : undefined,
    };
  }

  async occupied(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    const redis = this.exact();
    const min = after !== undefined && after >= prefix ? `(${after}` : prefix === '' ? '-' : `[${prefix}`;
    // Topics are ASCII: every topic that starts with the prefix sorts below prefix + U+00FF.
    const max = prefix === '' ? '+' : `[${prefix}\u00ff`;
    return this.read(() => redis.zrangebylex(`${this.prefix}pr:n`, min, max, 'LIMIT', 0, limit));
  }

  /** The link, when this instance's counts are in Redis; sends what changed this turn first (same link, in order). */
  private exact(): Redis & PresenceCommands {
    const redis = this.redis;
    if (!redis || redis.status !== 'ready' || this.stale) {
      throw new PresenceUnavailableError('presence is unavailable: redis is unreachable or not yet up to date');
    }
    this.flush();
    return redis;
  }

  private async read<T>(command: () => Promise<T>): Promise<T> {
    try {
      const result = await command();
      if (this.stale) throw new Error('a presence write failed meanwhile');
      return result;
    } catch (error) {
      throw new PresenceUnavailableError(`presence is unavailable: ${(error as Error).message}`);
    }
  }

  private changed(topic: string, member: MemberKey | undefined): void {
    this.markDirty(topic, member);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Dirty until written; a failed write is retried by the next sweep, not in a loop. */
  private markDirty(topic: string, member: MemberKey | undefined): void {
    this.dirtyTopics.add(topic);
    if (member === undefined) return;
    let members = this.dirtyMembers.get(topic);
    if (!members) this.dirtyMembers.set(topic, (members = new Set()));
    members.add(member);
  }

  private rewriteAll(): void {
    for (const topic of this.local.topics.keys()) this.markDirty(topic, undefined);
    for (const [topic, members] of this.local.members)
      for (const member of members.keys()) this.markDirty(topic, member);
    // The counts of topics that went to zero while disconnected are already dirty.
    this.stale = true;
    this.flush();
  }

  /** One script call with the absolute counts of everything that changed since the last one. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const redis = this.redis;
    if (this.closing || !redis || redis.status !== 'ready') return;
    if (this.dirtyTopics.size === 0 && this.dirtyMembers.size === 0 && !this.stale) return;
    const topics = this.dirtyTopics;
    const members = this.dirtyMembers;
    this.dirtyTopics = new Set();
    this.dirtyMembers = new Map();
    const args: (string | number)[] = [this.prefix, this.instance, this.config.presenceTtlMs];
    args.push(this.config.vacatedGraceMs, topics.size);
    for (const topic of topics) args.push(topic, this.local.topics.get(topic) ?? 0);
    for (const [topic, keys] of members) for (const key of keys) args.push(topic, key, this.local.member(topic, key));
    redis.heraldPresenceSync(...args).then(
      (reply) => this.written(reply),
      (error: Error) => {
        for (const topic of topics) this.markDirty(topic, undefined);
        for (const [topic, keys] of members) for (const key of keys) this.markDirty(topic, key);
        this.failed('write', error);
      },
    );
  };

  private written([fresh, now, occupied]: Reply): void {
    // Redis did not know this instance (reaped after a partition, or its data lost): write everything again.
    if (Number(fresh) === 1 && this.local.topics.size > 0) this.rewriteAll();
    else if (this.dirtyTopics.size === 0 && this.dirtyMembers.size === 0) this.stale = false;
    for (const topic of occupied) this.listeners.emit({ event: 'occupied', topic, at: Number(now) });
  }

  /** Renews this instance, reaps dead ones, reports `vacated` topics; retries a failed write. */
  private sweep(): void {
    const redis = this.redis;
    if (this.closing || !redis || redis.status !== 'ready') return;
    if (this.stale || this.dirtyTopics.size > 0) this.flush();
    const { presenceTtlMs, vacatedGraceMs } = this.config;
    redis.heraldPresenceSweep(this.prefix, this.instance, presenceTtlMs, vacatedGraceMs, SWEEP_LIMIT).then(
      ([fresh, , vacated, at]) => {
        if (Number(fresh) === 1 && this.local.topics.size > 0) this.rewriteAll();
        vacated.forEach((topic, i) => this.listeners.emit({ event: 'vacated', topic, at: Number(at?.[i]) }));
      },
      (error: Error) => this.failed('sweep', error),
    );
  }

  private failed(operation: string, error: Error): void {
    this.stale = true;
    const now = Date.now();
    if (now - this.lastErrorLogAt < 10_000) return;
    this.lastErrorLogAt = now;
    this.logger.warn({ msg: `redis presence ${operation} failed`, error: error.message });
  }
}
