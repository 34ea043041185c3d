import { sharesRedis } from '../broker/broker-kinds.js';
import type { HeraldConfig } from '../config/herald-config.js';
import type { DocumentStore, Revisioned } from './document-store.js';
import { FileDocumentStore } from './file-document.store.js';
import { RedisDocumentStore } from './redis-document.store.js';

/**
 * Where a feature's document lives: in Redis (`<REDIS_KEY_PREFIX><key>`) when
 * the broker kind shares Redis, so every instance reads and writes one
 * document; else in the file at `filePath`.
 */
export function documentStoreFor<D extends Revisioned>(
  config: HeraldConfig,
  name: string,
  key: string,
  filePath: string,
): DocumentStore<D> {
  return sharesRedis(config)
    ? new RedisDocumentStore<D>(name, config.redisUrl, `${config.redisKeyPrefix}${key}`)
    : new FileDocumentStore<D>(name, filePath);
}
