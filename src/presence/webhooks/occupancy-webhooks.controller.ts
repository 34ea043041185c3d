import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { AdminGuard } from '../../auth/admin.guard.js';
import { ApiErrors } from '../../openapi/http-error.schema.js';
import { ApiAdminAuth } from '../../openapi/security.js';
import { TAGS } from '../../openapi/tags.js';
import {
  OccupancyNotificationView,
  OccupancyWebhookDto,
  OccupancyWebhookView,
  type OccupancyWebhook,
} from './occupancy-webhook.dto.js';
import { OccupancyWebhooksConfig } from './occupancy-webhooks.config.js';
import {
  BAD_WEBHOOK,
  NO_WEBHOOK,
  NOT_SAVED,
  WEBHOOK_EXAMPLES,
  WEBHOOK_INPUT_EXAMPLES,
  WEBHOOK_REPLACE_EXAMPLES,
} from './occupancy-webhooks.schema.js';

const webhookId = (): MethodDecorator =>
  ApiParam({ name: 'id', description: 'The webhook id.', schema: { type: 'string', example: 'rooms-crm' } });

/** `/v1/admin/occupancy/webhooks`: CRUD; every answer masks the secret. Changes apply to the next transition. */
@Controller('v1/admin/occupancy/webhooks')
@UseGuards(AdminGuard)
@ApiTags(TAGS.occupancy)
@ApiAdminAuth()
@ApiExtraModels(OccupancyNotificationView)
export class OccupancyWebhooksController {
  constructor(private readonly configs: OccupancyWebhooksConfig) {}

  @Get()
  @ApiOperation({ operationId: 'listOccupancyWebhooks', summary: 'List the occupancy webhooks (secrets masked)' })
  @ApiOkResponse({
    description: 'Every webhook.',
    type: [OccupancyWebhookView],
    example: Object.values(WEBHOOK_EXAMPLES).map((example) => example.value),
  })
  list(): OccupancyWebhook[] {
    return this.configs.webhooks.map((webhook) => this.configs.masked(webhook));
  }

  @Post()
  @ApiOperation({
    operationId: 'createOccupancyWebhook',
    summary: 'Add an occupancy webhook',
    description: 'From the next transition on, every one whose topic starts with `prefix` is POSTed to `url`.',
  })
  @ApiBody({ type: OccupancyWebhookDto, examples: WEBHOOK_INPUT_EXAMPLES })
  @ApiCreatedResponse({ description: 'Created.', type: OccupancyWebhookView, examples: WEBHOOK_EXAMPLES })
  @ApiErrors({
    400: BAD_WEBHOOK,
    409: { description: 'The chosen `id` is taken.', examples: { taken: 'the id "rooms-crm" is taken' } },
    503: NOT_SAVED,
  })
  async create(@Body() body: OccupancyWebhookDto): Promise<OccupancyWebhook> {
    return this.configs.masked(await this.configs.create(body));
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getOccupancyWebhook', summary: 'One occupancy webhook (secret masked)' })
  @webhookId()
  @ApiOkResponse({ description: 'The webhook.', type: OccupancyWebhookView, examples: WEBHOOK_EXAMPLES })
  @ApiErrors({ 404: NO_WEBHOOK })
  get(@Param('id') id: string): OccupancyWebhook {
    return this.configs.masked(this.configs.webhook(id));
  }

  @Put(':id')
  @ApiOperation({
    operationId: 'replaceOccupancyWebhook',
    summary: 'Replace an occupancy webhook',
    description:
      'A secret left out, or sent back masked as a GET showed it, keeps the stored one: GET → edit → PUT is safe; ' +
      '`"secret": null` removes it. Deliveries still waiting are sent with the new URL and secret.',
  })
  @webhookId()
  @ApiBody({ type: OccupancyWebhookDto, examples: WEBHOOK_REPLACE_EXAMPLES })
  @ApiOkResponse({ description: 'Replaced.', type: OccupancyWebhookView, examples: WEBHOOK_EXAMPLES })
  @ApiErrors({
    400: {
      ...BAD_WEBHOOK,
      examples: { ...BAD_WEBHOOK.examples, otherId: ['id must be "rooms-crm" (the id in the path) or left out'] },
    },
    404: NO_WEBHOOK,
    503: NOT_SAVED,
  })
  async replace(@Param('id') id: string, @Body() body: OccupancyWebhookDto): Promise<OccupancyWebhook> {
    return this.configs.masked(await this.configs.replace(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    operationId: 'deleteOccupancyWebhook',
    summary: 'Delete an occupancy webhook',
    description: 'Its deliveries still waiting are dropped (counted as `dropped`).',
  })
  @webhookId()
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors({ 404: NO_WEBHOOK, 503: NOT_SAVED })
  async remove(@Param('id') id: string): Promise<void> {
    await this.configs.remove(id);
  }
}
