import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiExtraModels, ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../../auth/admin.guard.js';
import { ApiAdminAuth } from '../../openapi/security.js';
import { TAGS } from '../../openapi/tags.js';
import { OccupancyNotificationView, OccupancyWebhookDto, type OccupancyWebhook } from './occupancy-webhook.dto.js';
import { OccupancyWebhooksConfig } from './occupancy-webhooks.config.js';
import {
  ApiCreateOccupancyWebhook,
  ApiDeleteOccupancyWebhook,
  ApiGetOccupancyWebhook,
  ApiListOccupancyWebhooks,
  ApiReplaceOccupancyWebhook,
} from './occupancy-webhooks.openapi.js';

/** `/v1/admin/occupancy/webhooks`: CRUD; every answer masks the secret. Changes apply to the next transition. */
@Controller('v1/admin/occupancy/webhooks')
@UseGuards(AdminGuard)
@ApiTags(TAGS.occupancy)
@ApiAdminAuth()
@ApiExtraModels(OccupancyNotificationView)
export class OccupancyWebhooksController {
  constructor(private readonly configs: OccupancyWebhooksConfig) {}

  @Get()
  @ApiListOccupancyWebhooks()
  list(): OccupancyWebhook[] {
    return this.configs.webhooks.map((webhook) => this.configs.masked(webhook));
  }

  @Post()
  @ApiCreateOccupancyWebhook()
  async create(@Body() body: OccupancyWebhookDto): Promise<OccupancyWebhook> {
    return this.configs.masked(await this.configs.create(body));
  }

  @Get(':id')
  @ApiGetOccupancyWebhook()
  get(@Param('id') id: string): OccupancyWebhook {
    return this.configs.masked(this.configs.webhook(id));
  }

  @Put(':id')
  @ApiReplaceOccupancyWebhook()
  async replace(@Param('id') id: string, @Body() body: OccupancyWebhookDto): Promise<OccupancyWebhook> {
    return this.configs.masked(await this.configs.replace(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiDeleteOccupancyWebhook()
  async remove(@Param('id') id: string): Promise<void> {
    await this.configs.remove(id);
  }
}
