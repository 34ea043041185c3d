import { ServiceUnavailableException } from '@nestjs/common';

/** What every stored document carries: bumped on every write, so a shared store can tell a newer one. */
export interface Revisioned {
  revision: number;
}

/**
 * Where one JSON document (a feature's configuration) lives between restarts:
 * a file, or a Redis hash shared by every instance.
 */
export interface DocumentStore<D extends Revisioned> {
  /** Where, for messages: `file /data/alerts.json`, `redis key herald:alerts` (never credentials). */
  readonly location: string;
  /** Other Herald instances write it too, so the document is re-read on a schedule. */
  readonly shared: boolean;
  /** What it holds, for messages: `alerts store`. */
  readonly name: string;
  /** The stored document as parsed JSON (validated by the caller), or undefined when none was ever saved. */
  load(): Promise<unknown>;
  /** The stored revision (0 when none), so a shared store is re-read only when it changed. */
  revision(): Promise<number>;
  /**
   * Writes `document` whole. A shared store writes it only if the stored
   * revision is still `document.revision - 1`, else throws `StoreConflictError`.
   */
  save(document: D): Promise<void>;
  close(): Promise<void>;
}

/** The store cannot be read or written; the message names it and says why. */
export class DocumentStoreError extends Error {
  override name = 'DocumentStoreError';
}

/** The store's backend cannot be reached right now (Redis down): retry later, nothing is wrong with the data. */
export class DocumentStoreUnavailableError extends ServiceUnavailableException {
  override name = 'DocumentStoreUnavailableError';
}

/** Another instance wrote the shared store since this one read it. */
export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}

export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
