import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import {
  ApiAdminCreate,
  ApiAdminDelete,
  ApiAdminGet,
  ApiAdminReplace,
  type AdminResource,
} from '../../openapi/admin-crud.js';
import { OccupancyWebhookDto, OccupancyWebhookView } from './occupancy-webhook.dto.js';
import {
  BAD_WEBHOOK,
  NO_WEBHOOK,
  NOT_SAVED,
  WEBHOOK_EXAMPLES,
  WEBHOOK_INPUT_EXAMPLES,
  WEBHOOK_REPLACE_EXAMPLES,
} from './occupancy-webhooks.schema.js';

/** One composed decorator per operation of `/v1/admin/occupancy/webhooks`. */

type Decorator = MethodDecorator & ClassDecorator;
const WEBHOOK: AdminResource = { noun: 'webhook', invalid: BAD_WEBHOOK, missing: NO_WEBHOOK, notSaved: NOT_SAVED };
const EXAMPLE_ID = 'rooms-crm';
const ANSWER = { type: OccupancyWebhookView, examples: WEBHOOK_EXAMPLES };

export const ApiListOccupancyWebhooks = (): Decorator =>
  applyDecorators(
    ApiOperation({ operationId: 'listOccupancyWebhooks', summary: 'List the occupancy webhooks (secrets masked)' }),
    ApiOkResponse({
      description: 'Every webhook.',
      type: [OccupancyWebhookView],
      example: Object.values(WEBHOOK_EXAMPLES).map((example) => example.value),
    }),
  );

export const ApiCreateOccupancyWebhook = (): Decorator =>
  ApiAdminCreate(
    WEBHOOK,
    {
      operationId: 'createOccupancyWebhook',
      summary: 'Add an occupancy webhook',
      description: 'From the next transition on, every one whose topic starts with `prefix` is POSTed to `url`.',
    },
    { type: OccupancyWebhookDto, examples: WEBHOOK_INPUT_EXAMPLES },
    ANSWER,
    EXAMPLE_ID,
  );

export const ApiGetOccupancyWebhook = (): Decorator =>
  ApiAdminGet(
    WEBHOOK,
    { operationId: 'getOccupancyWebhook', summary: 'One occupancy webhook (secret masked)' },
    EXAMPLE_ID,
    { description: 'The webhook.', ...ANSWER },
  );

export const ApiReplaceOccupancyWebhook = (): Decorator =>
  ApiAdminReplace(
    WEBHOOK,
    {
      operationId: 'replaceOccupancyWebhook',
      summary: 'Replace an occupancy webhook',
      description:
        'A secret left out, or sent back masked as a GET showed it, keeps the stored one: GET → edit → PUT is safe; ' +
        '`"secret": null` removes it. Deliveries still waiting are sent with the new URL and secret.',
    },
    EXAMPLE_ID,
    { type: OccupancyWebhookDto, examples: WEBHOOK_REPLACE_EXAMPLES },
    ANSWER,
    EXAMPLE_ID,
  );

export const ApiDeleteOccupancyWebhook = (): Decorator =>
  ApiAdminDelete(
    WEBHOOK,
    {
      operationId: 'deleteOccupancyWebhook',
      summary: 'Delete an occupancy webhook',
      description: 'Its deliveries still waiting are dropped (counted as `dropped`).',
    },
    EXAMPLE_ID,
  );
