import {
  BadGatewayException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  UseGuards,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminGuard } from '../auth/admin.guard.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import type { AlertHistoryEntry } from './alert-history.js';
import type { ChannelConfig } from './alert-model.js';
import { AlertsConfigService } from './alerts-config.service.js';
import {
  ApiChannelModels,
  ApiCreateChannel,
  ApiDeleteChannel,
  ApiGetChannel,
  ApiListChannels,
  ApiReplaceChannel,
  ApiTestChannel,
} from './alerts.openapi.js';
import { AlertsService } from './alerts.service.js';

/**
 * `/v1/admin/alerts/channels`. The body is validated by the DTO of its `kind`
 * (see each channel class), so it arrives here untyped. Every answer masks secrets.
 */
@Controller('v1/admin/alerts/channels')
@UseGuards(AdminGuard)
@ApiTags(TAGS.alerts)
@ApiAdminAuth()
@ApiChannelModels()
export class AlertChannelsController {
  constructor(
    private readonly configs: AlertsConfigService,
    private readonly alerts: AlertsService,
  ) {}

  @Get()
  @ApiListChannels()
  list(): ChannelConfig[] {
    return this.configs.channels.map((channel) => this.configs.masked(channel));
  }

  @Post()
  @ApiCreateChannel()
  async create(@Body() body: unknown): Promise<ChannelConfig> {
    return this.configs.masked(await this.configs.createChannel(body));
  }

  @Get(':id')
  @ApiGetChannel()
  get(@Param('id') id: string): ChannelConfig {
    return this.configs.masked(this.configs.channel(id));
  }

  /** Replaces the channel; secrets left out or sent back masked keep their stored value. */
  @Put(':id')
  @ApiReplaceChannel()
  async replace(@Param('id') id: string, @Body() body: unknown): Promise<ChannelConfig> {
    return this.configs.masked(await this.configs.replaceChannel(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiDeleteChannel()
  async remove(@Param('id') id: string): Promise<void> {
    await this.configs.deleteChannel(id);
  }

  /** 200 with the history entry once delivered; 502 naming the failure when the channel could not be reached. */
  @Post(':id/test')
  @HttpCode(200)
  @ApiTestChannel()
  async test(@Param('id') id: string): Promise<AlertHistoryEntry> {
    const entry = await this.alerts.test(this.configs.channel(id));
    const [delivery] = entry.deliveries;
    if (delivery?.result !== 'delivered') {
      throw new BadGatewayException(
        `the test alert through channel ${JSON.stringify(id)} failed after ${delivery?.attempts ?? 0} attempt(s): ` +
          (delivery?.error ?? 'unknown error'),
      );
    }
    return entry;
  }
}
