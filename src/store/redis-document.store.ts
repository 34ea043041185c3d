import type { Redis } from 'ioredis';
import { documentConnection } from '../redis/redis-connections.js';
import type { DocumentStore, Revisioned } from './document-store.js';
import { DocumentStoreError, DocumentStoreUnavailableError, reason, StoreConflictError } from './document-store.js';

/**
 * Compare-and-set on the revision, so two instances writing at once cannot
 * lose each other's update. Returns -1 when written, else the stored revision.
 */
const SAVE_IF_UNCHANGED = `
local stored = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if stored ~= tonumber(ARGV[1]) - 1 then return stored end
redis.call('HSET', KEYS[1], 'revision', ARGV[1], 'document', ARGV[2])
return -1`;

/** The document in one Redis hash (`key`: revision, document), shared by every instance. */
export class RedisDocumentStore<D extends Revisioned> implements DocumentStore<D> {
  readonly shared = true;
  private readonly client: Redis;

  constructor(
    readonly name: string,
    redisUrl: string,
    readonly key: string,
  ) {
    this.client = documentConnection(redisUrl);
  }

  get location(): string {
    return `redis key ${this.key}`;
  }

  async load(): Promise<unknown> {
    let document: string | null;
    try {
      document = await this.client.hget(this.key, 'document');
    } catch (error) {
      throw this.unavailable('read', error);
    }
    if (document === null) return undefined;
    try {
      return JSON.parse(document) as unknown;
    } catch (error) {
      throw new DocumentStoreError(`${this.name} ${this.location} is not valid JSON (${reason(error)})`);
    }
  }

  async revision(): Promise<number> {
    try {
      return Number((await this.client.hget(this.key, 'revision')) ?? 0);
    } catch (error) {
      throw this.unavailable('read', error);
    }
  }

  async save(document: D): Promise<void> {
    let answer: unknown;
    try {
      answer = await this.client.eval(SAVE_IF_UNCHANGED, 1, this.key, document.revision, JSON.stringify(document));
    } catch (error) {
      throw this.unavailable('written', error);
    }
    if (answer !== -1) {
      throw new StoreConflictError(
        `${this.name} ${this.location} is at revision ${String(answer)}, not ${document.revision - 1}`,
      );
    }
  }

  private unavailable(could: 'read' | 'written', error: unknown): DocumentStoreUnavailableError {
    return new DocumentStoreUnavailableError(`${this.name} ${this.location} cannot be ${could}: ${reason(error)}`);
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit();
    else this.client.disconnect();
  }
}
