import { Logger, ServiceUnavailableException } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DocumentStoreError,
  DocumentStoreUnavailableError,
  reason,
  StoreConflictError,
  type DocumentStore,
  type Revisioned,
} from './document-store.js';
import { InvalidDocumentError } from './validation.js';

/** An edit of the document: the new document (its revision is set on save) and what the request answers. */
export type Edit<D, T> = (document: D) => Promise<{ document: D; result: T }>;

export interface StoredDocumentOptions<D extends Revisioned> {
  store: DocumentStore<D>;
  /** For the 503 of a failed write: `alert configuration`. */
  what: string;
  /** Held until the store has been read (revision 0). */
  empty: D;
  /** What a first start writes; without it, the empty document stands and nothing is written until a change. */
  defaults?: () => D;
  /** Checks a stored document as strictly as the API checks a request; throws `InvalidDocumentError`. */
  parse: (raw: unknown) => Promise<D>;
  logger: Logger;
}

/**
 * A shared store may be written by another instance between our read and our
 * write; then we re-read and redo, after a random pause so that two busy
 * instances stop colliding. Each conflict means another write succeeded.
 */
const CONFLICT_RETRIES = 20;
const CONFLICT_PAUSE_MS = 10;

/**
 * A configuration document held in memory and written through to its store.
 * Writes run one at a time, each on the document the previous one produced, so
 * concurrent admin requests never lose an update; memory changes only once the
 * store has the new document. A shared store is re-read by `refresh`.
 */
export class StoredDocument<D extends Revisioned> {
  private document: D;
  private writes: Promise<unknown> = Promise.resolve();
  private lastRefreshProblem: string | undefined;
  private loaded = false;
  private refreshing = false;

  constructor(private readonly options: StoredDocumentOptions<D>) {
    this.document = options.empty;
  }

  get current(): D {
    return this.document;
  }

  get shared(): boolean {
    return this.options.store.shared;
  }

  /**
   * At start-up: the stored document, or the defaults (if any), written on the first start.
   * A shared store that cannot be reached yet (Redis down) is not fatal: the empty
   * document is held until a later `refresh` loads it.
   */
  async load(): Promise<void> {
    try {
      await this.loadOrCreate();
      this.loaded = true;
    } catch (error) {
      if (!(error instanceof DocumentStoreUnavailableError)) throw error;
      this.options.logger.warn({
        msg: `${this.options.store.name} unreachable; will load it when it answers`,
        problem: error.message,
      });
    }
  }

  /** Takes a newer document another instance wrote to a shared store; keeps the current one if it cannot. */
  async refresh(): Promise<void> {
    // One refresh at a time: a slow store must not pile them up, one per tick.
    if (this.refreshing) return;
    this.refreshing = true;
    const { store, logger } = this.options;
    await this.serialize(async () => {
      try {
        if (!this.loaded) {
          await this.loadOrCreate();
          this.loaded = true;
          logger.log({ msg: `${store.name} loaded`, store: store.location });
          return;
        }
        const changed = (await store.revision()) > this.document.revision;
        const stored = changed ? await this.read() : undefined;
        if (stored && stored.revision > this.document.revision) this.document = stored;
        this.lastRefreshProblem = undefined;
      } catch (error) {
        const problem = reason(error);
        if (problem !== this.lastRefreshProblem) logger.warn({ msg: `${store.name} refresh failed`, problem });
        this.lastRefreshProblem = problem;
      } finally {
        this.refreshing = false;
      }
    });
  }

  /** Runs `edit` on the latest document once every earlier write is done, and stores its result. */
  change<T>(edit: Edit<D, T>): Promise<T> {
    return this.serialize(async () => {
      for (let attempt = 1; ; attempt++) {
        const { document, result } = await edit(this.document);
        const next: D = { ...document, revision: this.document.revision + 1 };
        try {
          await this.options.store.save(next);
          this.document = next;
          return result;
        } catch (error) {
          if (error instanceof StoreConflictError && attempt < CONFLICT_RETRIES) {
            await sleep(Math.random() * CONFLICT_PAUSE_MS * attempt);
            this.document = (await this.read()) ?? this.document;
            continue;
          }
          throw new ServiceUnavailableException(`the ${this.options.what} could not be saved: ${reason(error)}`);
        }
      }
    });
  }

  /** Waits for the writes under way, then closes the store. */
  async close(): Promise<void> {
    await this.writes;
    await this.options.store.close();
  }

  private async loadOrCreate(): Promise<void> {
    const stored = await this.read();
    if (stored !== undefined) {
      this.document = stored;
      return;
    }
    if (!this.options.defaults) return;
    const defaults = this.options.defaults();
    try {
      await this.options.store.save(defaults);
      this.document = defaults;
      this.options.logger.log({ msg: `${this.options.store.name} created`, store: this.options.store.location });
    } catch (error) {
      // Another instance wrote the first document in the meantime: take that one.
      if (!(error instanceof StoreConflictError)) throw error;
      this.document = (await this.read()) ?? defaults;
    }
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const result = this.writes.then(task);
    this.writes = result.catch(() => undefined);
    return result;
  }

  private async read(): Promise<D | undefined> {
    const { store, parse } = this.options;
    const raw = await store.load();
    if (raw === undefined) return undefined;
    try {
      return await parse(raw);
    } catch (error) {
      if (!(error instanceof InvalidDocumentError)) throw error;
      throw new DocumentStoreError(`${store.name} ${store.location} holds no valid configuration: ${error.message}`);
    }
  }
}
