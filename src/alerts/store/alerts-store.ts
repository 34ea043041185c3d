import { ServiceUnavailableException } from '@nestjs/common';
import type { AlertsDocument } from '../alert-model.js';

/** Injection token of the `AlertsStore` in use (file, or Redis when BROKER=redis). */
export const ALERTS_STORE = Symbol('ALERTS_STORE');

/** Where the alert configuration lives between restarts. */
export interface AlertsStore {
  /** Where, for messages: `file /data/alerts.json`, `redis key herald:alerts` (never credentials). */
  readonly location: string;
  /** Other Herald instances write it too, so the configuration is re-read on the snapshot schedule. */
  readonly shared: boolean;
  /** The stored document as parsed JSON (validated by the caller), or undefined when none was ever saved. */
  load(): Promise<unknown>;
  /** The stored revision (0 when none), so a shared store is re-read only when it changed. */
  revision(): Promise<number>;
  /**
   * Writes `document` whole. A shared store writes it only if the stored
   * revision is still `document.revision - 1`, else throws `StoreConflictError`.
   */
  save(document: AlertsDocument): Promise<void>;
  close(): Promise<void>;
}

/** The store cannot be read or written; the message names it and says why. */
export class AlertsStoreError extends Error {
  override name = 'AlertsStoreError';
}

/** The store's backend cannot be reached right now (Redis down): retry later, nothing is wrong with the data. */
export class AlertsStoreUnavailableError extends ServiceUnavailableException {
  override name = 'AlertsStoreUnavailableError';
}

/** Another instance wrote the shared store since this one read it. */
export class StoreConflictError extends Error {
  override name = 'StoreConflictError';
}
