import type { AlertNotification } from './alert-model.js';

export type DeliveryResult = 'pending' | 'delivered' | 'failed';

/** How one notification went through one channel; filled in as the attempts finish. */
export interface AlertDelivery {
  channelId: string;
  channelName: string;
  kind: string;
  result: DeliveryResult;
  attempts: number;
  /** The last attempt's failure, secrets scrubbed. */
  error?: string;
  durationMs?: number;
}

/** One fired, resolved or test alert as `GET /v1/admin/alerts/history` shows it. */
export interface AlertHistoryEntry extends AlertNotification {
  id: string;
  /** When Herald recorded it (ISO 8601). */
  at: string;
  /** False for a firing inside the rule's cooldown: recorded, not sent. */
  notified: boolean;
  deliveries: AlertDelivery[];
}

/** The most recent alert entries, oldest dropped first. */
export class AlertHistory {
  private readonly entries: AlertHistoryEntry[] = [];

  constructor(readonly capacity: number) {}

  add(entry: AlertHistoryEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** Newest first, at most `limit`, optionally of one rule. */
  recent(limit: number, ruleId?: string): AlertHistoryEntry[] {
    const result: AlertHistoryEntry[] = [];
    for (let index = this.entries.length - 1; index >= 0 && result.length < limit; index--) {
      const entry = this.entries[index];
      if (ruleId === undefined || entry.rule.id === ruleId) result.push(entry);
    }
    return result;
  }
}
