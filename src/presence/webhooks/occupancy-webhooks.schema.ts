import { getSchemaPath, type PathItemObject } from '@nestjs/swagger';
import { MASK } from '../../alerts/alert-model.js';
import { TAGS } from '../../openapi/tags.js';
import { webhookHeaderParameters } from '../../openapi/webhooks.js';
import { TOPIC_PREFIX_RULE } from '../topics.schema.js';
import { OccupancyNotificationView } from './occupancy-webhook.dto.js';

/** OpenAPI documentation of the occupancy webhooks: examples, refusals, and what a receiver gets. */

export const WEBHOOK_INPUT_EXAMPLES = {
  signed: {
    summary: 'Signed, for the topics under rooms/',
    value: {
      id: 'rooms-crm',
      url: 'https://crm.example.com/herald/occupancy',
      secret: 'a-long-shared-secret',
      prefix: 'rooms/',
    },
  },
  everyTopic: { summary: 'Every topic, unsigned', value: { url: 'https://hooks.example.com/occupancy' } },
};

export const WEBHOOK_EXAMPLES = {
  signed: {
    summary: 'Signed, for the topics under rooms/',
    value: { id: 'rooms-crm', url: 'https://crm.example.com/herald/occupancy', secret: MASK, prefix: 'rooms/' },
  },
  everyTopic: {
    summary: 'Every topic, unsigned',
    value: { id: '3f0c1b7e-2a4d-4f5e-9b61-0c2d8e7a9f10', url: 'https://hooks.example.com/occupancy', prefix: '' },
  },
};

/** A replace names the webhook in the path: the bodies carry no id, or the same one. */
export const WEBHOOK_REPLACE_EXAMPLES = {
  roundTrip: {
    summary: 'A GET answer sent back edited: the masked secret keeps the stored one',
    value: { ...WEBHOOK_EXAMPLES.signed.value, prefix: 'rooms/eu/' },
  },
  unsigned: {
    summary: 'Remove the secret',
    value: { url: 'https://crm.example.com/herald/occupancy', secret: null, prefix: 'rooms/' },
  },
};

export const BAD_WEBHOOK = {
  description: 'Invalid or unknown fields, every problem listed.',
  examples: {
    badFields: ['url must be an absolute http:// or https:// URL', TOPIC_PREFIX_RULE],
    unknownField: ['property name should not exist'],
  },
};
export const NO_WEBHOOK = {
  description: 'No occupancy webhook has this id.',
  examples: { unknown: 'no occupancy webhook "nope"' },
};
export const NOT_SAVED = {
  description: 'The webhooks could not be saved (file or Redis store failed); nothing changed.',
  examples: { storeFailed: 'the occupancy webhook configuration could not be saved: ENOSPC: no space left on device' },
};

const transitionExample = (event: 'occupied' | 'vacated', at: string) => ({
  summary: event === 'occupied' ? 'The first stream of rooms/42 opened' : 'rooms/42 stayed empty for the grace time',
  value: { event, topic: 'rooms/42', at },
});

/** The POST an occupancy webhook receives: an OpenAPI 3.1 webhook, so receivers can generate their side too. */
export const OCCUPANCY_WEBHOOKS: Record<string, PathItemObject> = {
  occupancyTransition: {
    post: {
      operationId: 'receiveOccupancyTransition',
      tags: [TAGS.occupancy],
      summary: 'What an occupancy webhook sends to its URL',
      description:
        'Sent once per cluster when a topic whose name starts with the webhook `prefix` becomes occupied or vacated; ' +
        "per topic the two alternate and arrive in order. Headers and signature are the alert webhooks': verify " +
        '`X-Herald-Signature` over the raw body, reject old timestamps, drop duplicates by `X-Herald-Delivery`.',
      parameters: webhookHeaderParameters(
        'One per transition and webhook, the same on every retry: drop duplicates by it.',
        'webhook',
      ),
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(OccupancyNotificationView) },
            examples: {
              occupied: transitionExample('occupied', '2026-11-18T09:24:00.000Z'),
              vacated: transitionExample('vacated', '2026-11-18T09:41:15.000Z'),
            },
          },
        },
      },
      responses: {
        '2XX': { description: 'Received.' },
        default: {
          description:
            'A failed attempt: network errors, 408, 429 and 5xx are retried OCCUPANCY_WEBHOOK_RETRIES times with ' +
            'backoff (a `Retry-After` in seconds is followed, up to 60 s); other answers are not.',
        },
      },
    },
  },
};
