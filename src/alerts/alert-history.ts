import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { AlertNotification, ISO_TIME } from './alert-model.js';

export type DeliveryResult = 'pending' | 'delivered' | 'failed';

/** How one notification went through one channel; filled in as the attempts finish. */
@ApiSchema({ name: 'AlertDeliveryView', description: 'How one notification went through one channel.' })
export class AlertDelivery {
  @ApiProperty({ type: 'string', example: 'pager' })
  channelId!: string;

  @ApiProperty({ type: 'string', example: 'pager bridge' })
  channelName!: string;

  @ApiProperty({ type: 'string', example: 'webhook' })
  kind!: string;

  @ApiProperty({ enum: ['pending', 'delivered', 'failed'], example: 'delivered' })
  result!: DeliveryResult;

  @ApiProperty({ type: 'integer', minimum: 0, example: 1 })
  attempts!: number;

  @ApiPropertyOptional({
    type: 'string',
    description: "The last attempt's failure, secrets scrubbed.",
    example: 'POST https://pager.example.com/herald answered 503',
  })
  error?: string;

  @ApiPropertyOptional({ type: 'number', minimum: 0, example: 42 })
  durationMs?: number;
}

/** One fired, resolved or test alert as `GET /v1/admin/alerts/history` shows it. */
@ApiSchema({ name: 'AlertHistoryEntry', description: 'A fired, resolved or test alert with its deliveries.' })
export class AlertHistoryEntry extends AlertNotification {
  @ApiProperty({ type: 'string', format: 'uuid', example: '0b6f3c52-5d2e-4d59-9f57-2a61c1f0e8a4' })
  id!: string;

  @ApiProperty({ ...ISO_TIME, description: 'When Herald recorded it.', example: '2026-11-18T09:24:00.015Z' })
  at!: string;

  @ApiProperty({
    type: 'boolean',
    description: "False for a firing inside the rule's cooldown: recorded, not sent.",
    example: true,
  })
  notified!: boolean;

  @ApiProperty({ type: [AlertDelivery] })
  deliveries!: AlertDelivery[];
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
