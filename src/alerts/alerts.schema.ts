import {
  ApiProperty,
  ApiPropertyOptional,
  ApiSchema,
  getSchemaPath,
  type PathItemObject,
  type SchemaObject,
} from '@nestjs/swagger';
import { FIGURE_NAMES } from '../monitoring/figures.js';
import type { AlertDelivery, AlertHistoryEntry, DeliveryResult } from './alert-history.js';
import {
  COMPARISONS,
  ID_PATTERN,
  MASK,
  SEVERITIES,
  type AlertNotification,
  type AlertRule,
  type Comparison,
  type NotificationStatus,
  type Severity,
} from './alert-model.js';
import type { LiveAlertView } from './alerts.service.js';
import { TAGS } from '../openapi/tags.js';
import { WEBHOOK_SECRET_PROPERTY, webhookHeaderParameters } from '../openapi/webhooks.js';
import type { FigureName } from '../monitoring/figures.js';

/** OpenAPI documentation of the Alerts admin API: channels (one schema per kind), rules, history. */

const ID_PROPERTY = { type: 'string', pattern: ID_PATTERN.source } as const;
const ISO_TIME = { type: 'string', format: 'date-time' } as const;
const MASKED = `\`${MASK}\``;

// ---- Channels as requests carry them (secrets in clear) ------------------------------------

class ChannelInputBase {
  @ApiPropertyOptional({
    ...ID_PROPERTY,
    description: 'On create: choose a readable id (else a UUID is made; 409 if taken). On replace: the id of the path.',
    example: 'pager',
  })
  id?: string;

  @ApiProperty({ type: 'string', minLength: 1, maxLength: 200, example: 'pager bridge' })
  name!: string;

  @ApiPropertyOptional({
    type: 'boolean',
    default: true,
    description: 'A disabled channel is skipped by rules.',
    example: true,
  })
  enabled?: boolean;
}

@ApiSchema({ description: 'A Slack incoming webhook: the notification as `text` plus blocks with the facts.' })
export class SlackChannelInput extends ChannelInputBase {
  @ApiProperty({ enum: ['slack'] })
  kind!: 'slack';

  @ApiProperty({
    type: 'string',
    format: 'uri',
    description: `The incoming-webhook URL. Its path is the credential: answers show it as ${MASKED}.`,
    example: 'https://hooks.slack.com/services/T000/B000/XXXX',
  })
  url!: string;
}

@ApiSchema({ description: 'Email over SMTP: subject and plain-text body with the facts.' })
export class EmailChannelInput extends ChannelInputBase {
  @ApiProperty({ enum: ['email'] })
  kind!: 'email';

  @ApiProperty({
    type: 'string',
    pattern: '^smtps?://',
    description:
      '`smtp://user:password@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start). The ' +
      `password is write-only: answers show it as ${MASKED}; send it back masked (or leave smtpUrl out) to keep it.`,
    example: 'smtp://alerts:app-password@smtp.example.com:587',
  })
  smtpUrl!: string;

  @ApiProperty({ type: 'string', format: 'email', example: 'herald@example.com' })
  from!: string;

  @ApiProperty({
    type: 'array',
    items: { type: 'string', format: 'email' },
    minItems: 1,
    maxItems: 50,
    example: ['oncall@example.com'],
  })
  to!: string[];
}

@ApiSchema({
  description:
    'A JSON POST of the notification with `X-Herald-Timestamp` (unix ms) and `X-Herald-Delivery`; with a ' +
    'secret also `X-Herald-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`.',
})
export class WebhookChannelInput extends ChannelInputBase {
  @ApiProperty({ enum: ['webhook'] })
  kind!: 'webhook';

  @ApiProperty({ type: 'string', format: 'uri', example: 'https://pager.example.com/herald' })
  url!: string;

  @ApiPropertyOptional(WEBHOOK_SECRET_PROPERTY)
  secret?: string | null;
}

@ApiSchema({ description: "One JSON line in Herald's own log (error for critical firings, warn for others)." })
export class LogChannelInput extends ChannelInputBase {
  @ApiProperty({ enum: ['log'] })
  kind!: 'log';
}

// ---- Channels as every answer shows them (secrets masked) ----------------------------------

class ChannelBase {
  @ApiProperty({ ...ID_PROPERTY, example: 'pager' })
  id!: string;

  @ApiProperty({ type: 'string', example: 'pager bridge' })
  name!: string;

  @ApiProperty({ type: 'boolean', example: true })
  enabled!: boolean;
}

@ApiSchema({ description: 'A Slack channel; the path of its URL is masked.' })
export class SlackChannel extends ChannelBase {
  @ApiProperty({ enum: ['slack'] })
  kind!: 'slack';

  @ApiProperty({
    type: 'string',
    pattern: '^https?://[^/]+/\\*{8}$',
    description: `The webhook's origin; its path, the credential, is ${MASKED}.`,
    example: `https://hooks.slack.com/${MASK}`,
  })
  url!: string;
}

@ApiSchema({ description: 'An email channel; the password in `smtpUrl` is masked.' })
export class EmailChannel extends ChannelBase {
  @ApiProperty({ enum: ['email'] })
  kind!: 'email';

  @ApiProperty({
    type: 'string',
    pattern: '^smtps?://(?:[^:@/]*(?::\\*{8})?@)?[^@/]+(?:/.*)?$',
    description: `The SMTP URL with its password shown as ${MASKED}.`,
    example: `smtp://alerts:${MASK}@smtp.example.com:587`,
  })
  smtpUrl!: string;

  @ApiProperty({ type: 'string', format: 'email', example: 'herald@example.com' })
  from!: string;

  @ApiProperty({ type: 'array', items: { type: 'string', format: 'email' }, example: ['oncall@example.com'] })
  to!: string[];
}

@ApiSchema({ description: 'A webhook channel; its secret, when it has one, is masked.' })
export class WebhookChannel extends ChannelBase {
  @ApiProperty({ enum: ['webhook'] })
  kind!: 'webhook';

  @ApiProperty({ type: 'string', format: 'uri', example: 'https://pager.example.com/herald' })
  url!: string;

  @ApiPropertyOptional({ enum: [MASK], description: 'Present when the channel has a secret; never shown.' })
  secret?: string;
}

@ApiSchema({ description: "A channel writing to Herald's log." })
export class LogChannel extends ChannelBase {
  @ApiProperty({ enum: ['log'] })
  kind!: 'log';
}

/** The registered channel kinds and their schemas (request, answer). */
export const CHANNEL_KIND_MODELS = {
  slack: [SlackChannelInput, SlackChannel],
  email: [EmailChannelInput, EmailChannel],
  webhook: [WebhookChannelInput, WebhookChannel],
  log: [LogChannelInput, LogChannel],
} as const;

export const CHANNEL_MODELS = Object.values(CHANNEL_KIND_MODELS).flat();

function unionOnKind(side: 0 | 1): SchemaObject {
  const entries = Object.entries(CHANNEL_KIND_MODELS).map(([kind, models]) => [kind, getSchemaPath(models[side])]);
  return {
    oneOf: entries.map(([, $ref]) => ({ $ref })),
    discriminator: { propertyName: 'kind', mapping: Object.fromEntries(entries) },
  };
}

/** A channel in a request body: one schema per `kind`. */
export const CHANNEL_INPUT_SCHEMA = unionOnKind(0);
/** A channel in an answer, secrets masked. */
export const CHANNEL_SCHEMA = unionOnKind(1);

export const CHANNEL_INPUT_EXAMPLES = {
  slack: {
    summary: 'Slack',
    value: { id: 'ops-slack', name: '#ops', kind: 'slack', url: 'https://hooks.slack.com/services/T000/B000/XXXX' },
  },
  email: {
    summary: 'Email',
    value: {
      id: 'oncall-mail',
      name: 'on-call',
      kind: 'email',
      smtpUrl: 'smtp://alerts:app-password@smtp.example.com:587',
      from: 'herald@example.com',
      to: ['oncall@example.com'],
    },
  },
  webhook: {
    summary: 'Signed webhook',
    value: {
      id: 'pager',
      name: 'pager bridge',
      kind: 'webhook',
      url: 'https://pager.example.com/herald',
      secret: 'a-long-shared-secret',
    },
  },
  log: { summary: "Herald's log", value: { id: 'ops-log', name: 'ops log', kind: 'log' } },
};

export const CHANNEL_EXAMPLES = {
  slack: {
    summary: 'Slack',
    value: { id: 'ops-slack', name: '#ops', kind: 'slack', enabled: true, url: `https://hooks.slack.com/${MASK}` },
  },
  email: {
    summary: 'Email',
    value: {
      id: 'oncall-mail',
      name: 'on-call',
      kind: 'email',
      enabled: true,
      smtpUrl: `smtp://alerts:${MASK}@smtp.example.com:587`,
      from: 'herald@example.com',
      to: ['oncall@example.com'],
    },
  },
  webhook: {
    summary: 'Signed webhook',
    value: {
      id: 'pager',
      name: 'pager bridge',
      kind: 'webhook',
      enabled: true,
      url: 'https://pager.example.com/herald',
      secret: MASK,
    },
  },
};

/** A replace names the channel in the path: the bodies carry no id, or the same one. */
export const CHANNEL_REPLACE_EXAMPLES = {
  roundTrip: {
    summary: 'A GET answer sent back edited: the masked secret keeps the stored one',
    value: { ...CHANNEL_EXAMPLES.webhook.value, name: 'pager bridge (EU)' },
  },
  ...Object.fromEntries(
    Object.entries(CHANNEL_INPUT_EXAMPLES).map(([kind, { summary, value }]) => {
      const { id: _id, ...body } = value;
      return [kind, { summary: `Make it a ${summary} channel`, value: body }];
    }),
  ),
};

// ---- Rules --------------------------------------------------------------------------------

const METRIC_DESCRIPTION =
  'A figure of `/status`: `active_connections`, `heap_used_mb`, `rss_mb`, `messages_per_second`, ' +
  '`delivery_p99_ms`, `event_loop_lag_p99_ms`, `slow_consumer_disconnects` (in the last 60 s), ' +
  '`memory_leak_suspected` (0/1), `capacity_ratio` (active / MAX_CONNECTIONS).';

/** Shared by the rule body (RuleDto) and the stored rule. */
export const RULE_PROPERTIES = {
  name: { type: 'string', minLength: 1, maxLength: 200, example: 'Busy' },
  metric: { enum: [...FIGURE_NAMES], description: METRIC_DESCRIPTION, example: 'active_connections' },
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

@ApiSchema({ name: 'AlertRule', description: 'A rule as stored, every default filled in.' })
export class AlertRuleView implements AlertRule {
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

// ---- History and live alerts ---------------------------------------------------------------

@ApiSchema({ description: 'The rule a notification is about (a test alert: id `test`).' })
export class NotificationRule {
  @ApiProperty({ type: 'string', example: 'busy' })
  id!: string;

  @ApiProperty({ type: 'string', example: 'Busy' })
  name!: string;

  @ApiProperty({ type: 'string', example: 'active_connections' })
  metric!: string;

  @ApiProperty({ enum: [...COMPARISONS], example: '>' })
  op!: Comparison;

  @ApiProperty({ type: 'number', example: 5000 })
  threshold!: number;
}

@ApiSchema({ description: 'How one notification went through one channel.' })
export class AlertDeliveryView implements AlertDelivery {
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

/** What a webhook receives (API.md, Administration), and what the history keeps. */
@ApiSchema({
  name: 'AlertNotification',
  description: 'The JSON body a `webhook` channel receives; Slack, email and log carry the same facts as text.',
})
export class AlertNotificationView implements AlertNotification {
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

@ApiSchema({ name: 'AlertHistoryEntry', description: 'A fired, resolved or test alert with its deliveries.' })
export class AlertHistoryEntryView extends AlertNotificationView implements AlertHistoryEntry {
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

  @ApiProperty({ type: [AlertDeliveryView] })
  deliveries!: AlertDeliveryView[];
}

@ApiSchema({ name: 'LiveAlert', description: 'An alert whose condition holds now.' })
export class LiveAlertViewSchema implements LiveAlertView {
  @ApiProperty({ type: 'string', example: 'capacity-high' })
  ruleId!: string;

  @ApiProperty({ type: 'string', example: 'Capacity high' })
  name!: string;

  @ApiProperty({ enum: [...SEVERITIES], example: 'critical' })
  severity!: string;

  @ApiProperty({ type: 'number', example: 0.93 })
  value!: number;

  @ApiProperty({
    ...ISO_TIME,
    description: 'Since when it is pending, or when it fired.',
    example: '2026-11-18T09:24:00.000Z',
  })
  startedAt!: string;

  @ApiProperty({
    enum: ['pending', 'firing'],
    description: '`pending` while the condition has held for less than `forSeconds`.',
    example: 'firing',
  })
  state!: 'pending' | 'firing';

  @ApiProperty({ type: 'string', example: 'capacity_ratio' })
  metric!: string;

  @ApiProperty({ enum: [...COMPARISONS], example: '>=' })
  op!: string;

  @ApiProperty({ type: 'number', example: 0.9 })
  threshold!: number;
}

/** The POST a `webhook` channel makes: an OpenAPI 3.1 webhook, so receivers can generate their side too. */
export const ALERT_WEBHOOKS: Record<string, PathItemObject> = {
  alertNotification: {
    post: {
      operationId: 'receiveAlertNotification',
      tags: [TAGS.alerts],
      summary: 'What a webhook alert channel sends to its URL',
      description:
        'Sent when an alert fires or resolves (and by `POST /v1/admin/alerts/channels/{id}/test`). Verify ' +
        '`X-Herald-Signature` over the raw body before parsing, and reject old timestamps to stop replays. A ' +
        'retried delivery carries the same `X-Herald-Delivery`.',
      parameters: webhookHeaderParameters(
        'The same for every retry of one notification: drop duplicates by it.',
        'channel',
      ),
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(AlertNotificationView) },
            examples: {
              firing: {
                summary: 'An alert fired',
                value: {
                  status: 'firing',
                  rule: { id: 'busy', name: 'Busy', metric: 'active_connections', op: '>', threshold: 5000 },
                  severity: 'warning',
                  value: 5120,
                  startedAt: '2026-11-18T09:24:00.000Z',
                  instance: 'herald-0:3000',
                },
              },
              resolved: {
                summary: 'It resolved',
                value: {
                  status: 'resolved',
                  rule: { id: 'busy', name: 'Busy', metric: 'active_connections', op: '>', threshold: 5000 },
                  severity: 'warning',
                  value: 4700,
                  startedAt: '2026-11-18T09:24:00.000Z',
                  resolvedAt: '2026-11-18T09:41:10.000Z',
                  instance: 'herald-0:3000',
                },
              },
            },
          },
        },
      },
      responses: {
        '2XX': { description: 'Received.' },
        default: {
          description:
            'Anything else is a failed attempt, retried ALERTS_SEND_RETRIES times (4xx other than 408 and 429 are not).',
        },
      },
    },
  },
};
