import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  getSchemaPath,
  type PathItemObject,
  type SchemaObject,
} from '@nestjs/swagger';
import {
  ApiAdminCreate,
  ApiAdminDelete,
  ApiAdminGet,
  ApiAdminReplace,
  type AdminResource,
} from '../openapi/admin-crud.js';
import { ApiErrors, type ErrorDoc } from '../openapi/http-error.schema.js';
import { TAGS } from '../openapi/tags.js';
import { webhookHeaderParameters } from '../openapi/webhooks.js';
import { AlertHistoryEntry } from './alert-history.js';
import { AlertNotification, AlertRule, METRIC_RULE } from './alert-model.js';
import { CHANNEL_KINDS } from './channels/channel-kinds.js';
import { LiveAlertView } from './dto/live-alert.dto.js';
import { RuleDto } from './dto/rule.dto.js';
import type { FigureName } from '../monitoring/figures.js';

/** OpenAPI documentation of the Alerts admin API, one composed decorator per operation. */

type Decorator = MethodDecorator & ClassDecorator;

/** The store could not be written (disk full, Redis down): nothing changed. */
const NOT_SAVED: ErrorDoc = {
  description: 'The configuration could not be saved (file or Redis store failed); nothing changed.',
  examples: { storeFailed: 'the alert configuration could not be saved: ENOSPC: no space left on device' },
};

// ---- Channels: one schema per kind, from the registry ----------------------------------------

function unionOnKind(side: 'input' | 'stored'): SchemaObject {
  const entries = CHANNEL_KINDS.map((kind) => [kind.kind, getSchemaPath(kind[side])]);
  return {
    oneOf: entries.map(([, $ref]) => ({ $ref })),
    discriminator: { propertyName: 'kind', mapping: Object.fromEntries(entries) },
  };
}
/** A channel in a request body: one schema per `kind`. */
const CHANNEL_INPUT_SCHEMA = unionOnKind('input');
/** A channel in an answer, secrets masked. */
const CHANNEL_SCHEMA = unionOnKind('stored');

const CHANNEL_INPUT_EXAMPLES = Object.fromEntries(CHANNEL_KINDS.map((kind) => [kind.kind, kind.examples.input]));
const CHANNEL_EXAMPLES = Object.fromEntries(
  CHANNEL_KINDS.flatMap((kind) => (kind.examples.stored ? [[kind.kind, kind.examples.stored]] : [])),
);
/** A replace names the channel in the path: the bodies carry no id, or the same one. */
const CHANNEL_REPLACE_EXAMPLES = {
  roundTrip: {
    summary: 'A GET answer sent back edited: the masked secret keeps the stored one',
    value: { ...CHANNEL_EXAMPLES.webhook.value, name: 'pager bridge (EU)' },
  },
  ...Object.fromEntries(
    CHANNEL_KINDS.map(({ kind, examples: { input } }) => {
      const { id: _id, ...body } = input.value;
      return [kind, { summary: `Make it a ${input.summary} channel`, value: body }];
    }),
  ),
};

const BAD_CHANNEL: ErrorDoc = {
  description: 'The body does not fit its `kind` (every problem listed), or the kind is unknown.',
  examples: {
    unknownKind: [`kind must be one of ${CHANNEL_KINDS.map((kind) => kind.kind).join(', ')}`],
    badFields: ['url must be an absolute http:// or https:// URL', 'name must be a string'],
  },
};
const NO_CHANNEL: ErrorDoc = {
  description: 'No channel has this id.',
  examples: { unknown: 'no alert channel "nope"' },
};
const CHANNEL: AdminResource = { noun: 'channel', invalid: BAD_CHANNEL, missing: NO_CHANNEL, notSaved: NOT_SAVED };
const CHANNEL_ANSWER = { schema: CHANNEL_SCHEMA, examples: CHANNEL_EXAMPLES };

/** On the channels controller: every kind's schemas, and the notification the webhooks section names. */
export const ApiChannelModels = (): ClassDecorator =>
  ApiExtraModels(...CHANNEL_KINDS.flatMap((kind) => [kind.input, kind.stored]), AlertNotification);

export const ApiListChannels = (): Decorator =>
  applyDecorators(
    ApiOperation({ operationId: 'listAlertChannels', summary: 'List the alert channels (secrets masked)' }),
    ApiOkResponse({
      description: 'Every channel.',
      schema: { type: 'array', items: CHANNEL_SCHEMA },
      example: [{ id: 'log', name: 'Herald log', kind: 'log', enabled: true }, CHANNEL_EXAMPLES.webhook.value],
    }),
  );

export const ApiCreateChannel = (): Decorator =>
  ApiAdminCreate(
    CHANNEL,
    {
      operationId: 'createAlertChannel',
      summary: 'Add an alert channel',
      description: 'The body is checked by the schema of its `kind`. The answer masks the secrets.',
    },
    { schema: CHANNEL_INPUT_SCHEMA, examples: CHANNEL_INPUT_EXAMPLES },
    CHANNEL_ANSWER,
    'pager',
  );

export const ApiGetChannel = (): Decorator =>
  ApiAdminGet(CHANNEL, { operationId: 'getAlertChannel', summary: 'One alert channel (secrets masked)' }, 'log', {
    description: 'The channel.',
    ...CHANNEL_ANSWER,
  });

export const ApiReplaceChannel = (): Decorator =>
  ApiAdminReplace(
    CHANNEL,
    {
      operationId: 'replaceAlertChannel',
      summary: 'Replace an alert channel',
      description:
        'A secret left out, or sent back masked as a GET showed it, keeps the stored one: GET → edit → PUT is safe. ' +
        'The body may carry the id of the path, nothing else.',
    },
    'pager',
    { schema: CHANNEL_INPUT_SCHEMA, examples: CHANNEL_REPLACE_EXAMPLES },
    CHANNEL_ANSWER,
    'pager',
  );

export const ApiDeleteChannel = (): Decorator =>
  ApiAdminDelete(
    CHANNEL,
    { operationId: 'deleteAlertChannel', summary: 'Delete an alert channel no rule uses' },
    'oncall-mail',
    {
      description: 'Rules still use the channel: remove it from them first.',
      examples: { inUse: 'alert channel "log" is used by the rules capacity-high; remove it from them first' },
    },
  );

export const ApiTestChannel = (): Decorator =>
  applyDecorators(
    ApiOperation({
      operationId: 'testAlertChannel',
      summary: 'Send a test alert through a channel',
      description:
        'A `status: "test"` notification, sent whether the channel is enabled or not, with the usual timeout and ' +
        'retries. Recorded in the history (rule id `test`).',
    }),
    ApiParam({ name: 'id', description: 'The channel id.', schema: { type: 'string', example: 'log' } }),
    ApiOkResponse({ description: 'Delivered: the history entry.', type: AlertHistoryEntry }),
    ApiErrors({
      404: NO_CHANNEL,
      502: {
        description: 'The channel could not be reached: the message names the failure.',
        examples: {
          failed:
            'the test alert through channel "pager" failed after 3 attempt(s): POST https://pager.example.com/herald answered 500',
        },
      },
    }),
  );

// ---- Rules ------------------------------------------------------------------------------------

const RULE_EXAMPLES = {
  busy: {
    summary: 'More than 5,000 streams for a minute, at most one page every 10 minutes',
    value: {
      id: 'busy',
      name: 'Busy',
      metric: 'active_connections' satisfies FigureName,
      op: '>',
      threshold: 5000,
      forSeconds: 60,
      severity: 'warning',
      cooldownSeconds: 600,
      channels: ['log'],
    },
  },
  minimal: {
    summary: 'Only what is required (defaults for the rest)',
    value: { name: 'Leak', metric: 'memory_leak_suspected', op: '>=', threshold: 1 },
  },
};
const BAD_RULE: ErrorDoc = {
  description: 'Invalid fields (every problem listed), or a channel id that is no channel.',
  examples: {
    badFields: [METRIC_RULE, 'threshold must not be less than 0'],
    unknownChannel: ['channels[0] is no channel: "nope"'],
  },
};
const NO_RULE: ErrorDoc = { description: 'No rule has this id.', examples: { unknown: 'no alert rule "nope"' } };
const RULE: AdminResource = { noun: 'rule', invalid: BAD_RULE, missing: NO_RULE, notSaved: NOT_SAVED };

export const ApiListRules = (): Decorator =>
  applyDecorators(
    ApiOperation({ operationId: 'listAlertRules', summary: 'List the alert rules' }),
    ApiOkResponse({ description: 'Every rule.', type: [AlertRule] }),
  );

export const ApiCreateRule = (): Decorator =>
  ApiAdminCreate(
    RULE,
    {
      operationId: 'createAlertRule',
      summary: 'Add an alert rule',
      description: 'Evaluated from the next monitoring snapshot on (SNAPSHOT_INTERVAL_MS).',
    },
    { type: RuleDto, examples: RULE_EXAMPLES },
    { description: 'Created, defaults filled in.', type: AlertRule },
    'busy',
  );

export const ApiGetRule = (): Decorator =>
  ApiAdminGet(RULE, { operationId: 'getAlertRule', summary: 'One alert rule' }, 'capacity-high', {
    description: 'The rule.',
    type: AlertRule,
  });

export const ApiReplaceRule = (): Decorator =>
  ApiAdminReplace(
    RULE,
    {
      operationId: 'replaceAlertRule',
      summary: 'Replace an alert rule',
      description:
        'A firing alert is judged by the new condition from the next snapshot. Left-out fields take defaults.',
    },
    'capacity-high',
    {
      type: RuleDto,
      examples: {
        critical: {
          summary: 'Page earlier, as critical',
          value: {
            id: 'capacity-high',
            name: 'Capacity high',
            metric: 'capacity_ratio' satisfies FigureName,
            op: '>=',
            threshold: 0.8,
            severity: 'critical',
            channels: ['log'],
          },
        },
      },
    },
    { type: AlertRule },
    'busy',
  );

export const ApiDeleteRule = (): Decorator =>
  ApiAdminDelete(
    RULE,
    { operationId: 'deleteAlertRule', summary: 'Delete an alert rule (a firing alert resolves)' },
    'busy',
  );

// ---- History and live alerts --------------------------------------------------------------------

export const ApiListHistory = (): Decorator =>
  applyDecorators(
    ApiOperation({
      operationId: 'listAlertHistory',
      summary: 'Fired, resolved and test alerts with their deliveries, newest first',
      description: 'Kept in memory per instance (the last 500).',
    }),
    ApiOkResponse({ description: 'The entries.', type: [AlertHistoryEntry] }),
    ApiErrors({
      400: {
        description: 'A bad `limit` or `ruleId`.',
        examples: { badLimit: ['limit must be a whole number from 1 to 1000'] },
      },
    }),
  );

export const ApiListActive = (): Decorator =>
  applyDecorators(
    ApiOperation({ operationId: 'listActiveAlerts', summary: 'Alerts whose condition holds now: pending or firing' }),
    ApiOkResponse({ description: 'The live alerts.', type: [LiveAlertView] }),
  );

// ---- The webhook a channel sends ------------------------------------------------------------------

const EXAMPLE_RULE = {
  id: 'busy',
  name: 'Busy',
  metric: 'active_connections' satisfies FigureName,
  op: '>',
  threshold: 5000,
};

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
            schema: { $ref: getSchemaPath(AlertNotification) },
            examples: {
              firing: {
                summary: 'An alert fired',
                value: {
                  status: 'firing',
                  rule: EXAMPLE_RULE,
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
                  rule: EXAMPLE_RULE,
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
