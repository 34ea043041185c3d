import type { HeraldConfig } from '../config/herald-config.js';
import type { EventBroker } from './event-broker.js';

/** What one `BROKER` value brings. */
export interface BrokerKind {
  /** One line for the docs. */
  description: string;
  /**
   * True when the instances of a deployment share state through Redis
   * (`REDIS_URL`, `REDIS_KEY_PREFIX`): presence counts, the alert and the
   * occupancy-webhook documents follow the broker there.
   */
  sharesRedis: boolean;
  create(config: HeraldConfig): Promise<EventBroker>;
}

/**
 * The broker kinds, the one list `BROKER` is checked against and BrokerModule
 * builds from. Adding a broker is its class (implementing EventBroker) plus
 * one entry here. The classes are loaded lazily because they inject the
 * config token, whose module reads this list.
 */
export const BROKER_KINDS = {
  memory: {
    description: 'embedded, one process: history and the live feed in memory',
    sharesRedis: false,
    create: async (config) => new (await import('./memory.broker.js')).MemoryBroker(config),
  },
  redis: {
    description: 'scale-out: history in Redis Streams, the live feed over Pub/Sub',
    sharesRedis: true,
    create: async (config) => new (await import('./redis.broker.js')).RedisBroker(config),
  },
} as const satisfies Record<string, BrokerKind>;

export type BrokerKindName = keyof typeof BROKER_KINDS;
export const BROKER_KIND_NAMES = Object.keys(BROKER_KINDS) as BrokerKindName[];

/** Whether this deployment's instances share state through Redis. */
export function sharesRedis(config: Pick<HeraldConfig, 'broker'>): boolean {
  return BROKER_KINDS[config.broker].sharesRedis;
}
