import type { DocumentStore } from '../../store/document-store.js';
import type { AlertsDocument } from '../alert-model.js';

/** Injection token of the alert configuration's store (file, or Redis when BROKER=redis). */
export const ALERTS_STORE = Symbol('ALERTS_STORE');

export type AlertsStore = DocumentStore<AlertsDocument>;
