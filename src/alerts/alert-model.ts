import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { FIGURE_NAMES, FIGURES, type FigureName } from '../monitoring/figures.js';

/**
 * The Alerts model: its constants, the rule as stored and the notification
 * every channel carries. Each class here is the wire shape and its OpenAPI
 * schema at once; no interface is kept in step beside it.
 */

export const COMPARISONS = ['>', '>=', '<', '<='] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Ids Herald makes are UUIDs; an operator may choose readable ones on create. */
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const ID_RULE = 'id must be 1-64 characters from A-Z a-z 0-9 _ . : -';
export const ID_PROPERTY = { type: 'string', pattern: ID_PATTERN.source } as const;
export const ISO_TIME = { type: 'string', format: 'date-time' } as const;

/** What every response shows in place of a write-only secret. */
export const MASK = '********';

/** The refusal of a rule `metric` that is no figure (figures.ts is the list). */
export const METRIC_RULE = `metric must be one of ${FIGURE_NAMES.join(', ')}`;

/** Shared by the rule body (RuleDto) and the stored rule; `metric` derives from the figures registry. */
export const RULE_PROPERTIES = {
  name: { type: 'string', minLength: 1, maxLength: 200, example: 'Busy' },
  metric: {
    enum: [...FIGURE_NAMES],
    description: `A figure of \`/status\`: ${FIGURE_NAMES.map((name) => `\`${name}\` (${FIGURES[name].description})`).join(', ')}.`,
    example: 'active_connections' satisfies FigureName,
  },
  op: { enum: [...COMPARISONS], example: '>' },
  threshold: { type: 'number', minimum: 0, example: 5000 },
  forSeconds: {
    type: 'number',
    minimum: 0,
    maximum: 86_400,
    default: 0,
    description: 'How long the condition must hold before the alert fires (resolution: SNAPSHOT_INTERVAL_MS).',
    example: 60,
  },
  severity: { enum: [...SEVERITIES], default: 'warning', example: 'warning' },
  cooldownSeconds: {
    type: 'number',
    minimum: 0,
    maximum: 604_800,
    default: 300,
    description: 'After a firing notification, the next firing is notified only once this has passed.',
    example: 600,
  },
  channels: {
    type: 'array',
    items: { type: 'string' },
    maxItems: 50,
    uniqueItems: true,
    default: [],
    description: 'Ids of configured channels.',
    example: ['ops-slack', 'pager'],
  },
  enabled: { type: 'boolean', default: true, example: true },
} as const;

/** A rule over one monitored figure, as stored and answered: every default filled in. */
@ApiSchema({ name: 'AlertRule', description: 'A rule as stored, every default filled in.' })
export class AlertRule {
  @ApiProperty({ ...ID_PROPERTY, example: 'busy' })
  id!: string;

  @ApiProperty(RULE_PROPERTIES.name)
  name!: string;

  @ApiProperty(RULE_PROPERTIES.metric)
  metric!: FigureName;

  @ApiProperty(RULE_PROPERTIES.op)
  op!: Comparison;

  @ApiProperty(RULE_PROPERTIES.threshold)
  threshold!: number;

  @ApiProperty(RULE_PROPERTIES.forSeconds)
  forSeconds!: number;

  @ApiProperty(RULE_PROPERTIES.severity)
  severity!: Severity;

  @ApiProperty(RULE_PROPERTIES.cooldownSeconds)
  cooldownSeconds!: number;

  @ApiProperty(RULE_PROPERTIES.channels)
  channels!: string[];

  @ApiProperty(RULE_PROPERTIES.enabled)
  enabled!: boolean;
}

/**
 * A configured channel, flat as in the API: `{id, name, kind, enabled}` plus
 * the settings of its kind (validated by that kind's DTO before it is stored;
 * documented by that kind's stored class, channels/<kind>.channel.ts).
 */
export interface ChannelConfig {
  id: string;
  name: string;
  kind: string;
  enabled: boolean;
  [setting: string]: unknown;
}

/** The whole alert configuration, as one store keeps it. */
export interface AlertsDocument {
  version: 1;
  /** Bumped on every write, so a shared store can tell a newer document from its own. */
  revision: number;
  channels: ChannelConfig[];
  rules: AlertRule[];
}

export type NotificationStatus = 'firing' | 'resolved' | 'test';

@ApiSchema({ description: 'The rule a notification is about (a test alert: id `test`).' })
export class NotificationRule {
  @ApiProperty({ type: 'string', example: 'busy' })
  id!: string;

  @ApiProperty({ type: 'string', example: 'Busy' })
  name!: string;

  @ApiProperty({ type: 'string', example: 'active_connections' satisfies FigureName })
  metric!: string;

  @ApiProperty({ enum: [...COMPARISONS], example: '>' })
  op!: Comparison;

  @ApiProperty({ type: 'number', example: 5000 })
  threshold!: number;
}

/** The body of a webhook delivery (docs/operations.md, Alerts), and what the history keeps. */
@ApiSchema({
  name: 'AlertNotification',
  description: 'The JSON body a `webhook` channel receives; Slack, email and log carry the same facts as text.',
})
export class AlertNotification {
  @ApiProperty({ enum: ['firing', 'resolved', 'test'], example: 'firing' })
  status!: NotificationStatus;

  @ApiProperty({ type: NotificationRule })
  rule!: NotificationRule;

  @ApiProperty({ enum: [...SEVERITIES], example: 'warning' })
  severity!: Severity;

  @ApiProperty({ type: 'number', description: 'The figure when the alert changed state.', example: 5120 })
  value!: number;

  @ApiProperty({ ...ISO_TIME, example: '2026-11-18T09:24:00.000Z' })
  startedAt!: string;

  @ApiPropertyOptional({ ...ISO_TIME, description: 'Resolved alerts only.', example: '2026-11-18T09:41:10.000Z' })
  resolvedAt?: string;

  @ApiProperty({
    type: 'string',
    description: 'Host name and port of the Herald that sent it.',
    example: 'herald-0:3000',
  })
  instance!: string;
}

export function holds(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}
