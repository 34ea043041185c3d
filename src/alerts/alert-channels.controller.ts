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
import { AdminGuard } from '../auth/admin.guard.js';
import { ApiErrors } from '../openapi/http-error.schema.js';
import { TAGS } from '../openapi/tags.js';
import { ApiAdminAuth } from '../openapi/security.js';
import type { AlertHistoryEntry } from './alert-history.js';
import type { ChannelConfig } from './alert-model.js';
import { AlertsConfigService } from './alerts-config.service.js';
import {
  AlertHistoryEntryView,
  AlertNotificationView,
  CHANNEL_EXAMPLES,
  CHANNEL_INPUT_EXAMPLES,
  CHANNEL_INPUT_SCHEMA,
  CHANNEL_MODELS,
  CHANNEL_REPLACE_EXAMPLES,
  CHANNEL_SCHEMA,
} from './alerts.schema.js';
import { AlertsService } from './alerts.service.js';

/** The channel id in the path; each operation's example names a channel its documented call can use. */
const channelId = (example: string): MethodDecorator =>
  ApiParam({ name: 'id', description: 'The channel id.', schema: { type: 'string', example } });
const BAD_CHANNEL = {
  description: 'The body does not fit its `kind` (every problem listed), or the kind is unknown.',
  examples: {
    unknownKind: ['kind must be one of slack, email, webhook, log'],
    badFields: ['url must be an absolute http:// or https:// URL', 'name must be a string'],
  },
};
const NO_CHANNEL = { description: 'No channel has this id.', examples: { unknown: 'no alert channel "nope"' } };
/** The store could not be written (disk full, Redis down): nothing changed. */
const NOT_SAVED = {
  description: 'The configuration could not be saved (file or Redis store failed); nothing changed.',
  examples: { storeFailed: 'the alert configuration could not be saved: ENOSPC: no space left on device' },
};

/**
 * `/v1/admin/alerts/channels`. The body is validated by the DTO of its `kind`
 * (see each channel class), so it arrives here untyped. Every answer masks secrets.
 */
@Controller('v1/admin/alerts/channels')
@UseGuards(AdminGuard)
@ApiTags(TAGS.alerts)
@ApiAdminAuth()
@ApiExtraModels(...CHANNEL_MODELS, AlertNotificationView)
export class AlertChannelsController {
  constructor(
    private readonly configs: AlertsConfigService,
    private readonly alerts: AlertsService,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'listAlertChannels', summary: 'List the alert channels (secrets masked)' })
  @ApiOkResponse({
    description: 'Every channel.',
    schema: { type: 'array', items: CHANNEL_SCHEMA },
    example: [{ id: 'log', name: 'Herald log', kind: 'log', enabled: true }, CHANNEL_EXAMPLES.webhook.value],
  })
  list(): ChannelConfig[] {
    return this.configs.channels.map((channel) => this.configs.masked(channel));
  }

  @Post()
  @ApiOperation({
    operationId: 'createAlertChannel',
    summary: 'Add an alert channel',
    description: 'The body is checked by the schema of its `kind`. The answer masks the secrets.',
  })
  @ApiBody({ schema: CHANNEL_INPUT_SCHEMA, examples: CHANNEL_INPUT_EXAMPLES })
  @ApiCreatedResponse({ description: 'Created.', schema: CHANNEL_SCHEMA, examples: CHANNEL_EXAMPLES })
  @ApiErrors({
    400: BAD_CHANNEL,
    409: { description: 'The chosen `id` is taken.', examples: { taken: 'the id "pager" is taken' } },
    503: NOT_SAVED,
  })
  async create(@Body() body: unknown): Promise<ChannelConfig> {
    return this.configs.masked(await this.configs.createChannel(body));
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getAlertChannel', summary: 'One alert channel (secrets masked)' })
  @channelId('log')
  @ApiOkResponse({ description: 'The channel.', schema: CHANNEL_SCHEMA, examples: CHANNEL_EXAMPLES })
  @ApiErrors({ 404: NO_CHANNEL })
  get(@Param('id') id: string): ChannelConfig {
    return this.configs.masked(this.configs.channel(id));
  }

  /** Replaces the channel; secrets left out or sent back masked keep their stored value. */
  @Put(':id')
  @ApiOperation({
    operationId: 'replaceAlertChannel',
    summary: 'Replace an alert channel',
    description:
      'A secret left out, or sent back masked as a GET showed it, keeps the stored one: GET → edit → PUT is safe. ' +
      'The body may carry the id of the path, nothing else.',
  })
  @channelId('pager')
  @ApiBody({ schema: CHANNEL_INPUT_SCHEMA, examples: CHANNEL_REPLACE_EXAMPLES })
  @ApiOkResponse({ description: 'Replaced.', schema: CHANNEL_SCHEMA, examples: CHANNEL_EXAMPLES })
  @ApiErrors({
    400: {
      ...BAD_CHANNEL,
      examples: { ...BAD_CHANNEL.examples, otherId: ['id must be "pager" (the id in the path) or left out'] },
    },
    404: NO_CHANNEL,
    503: NOT_SAVED,
  })
  async replace(@Param('id') id: string, @Body() body: unknown): Promise<ChannelConfig> {
    return this.configs.masked(await this.configs.replaceChannel(id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ operationId: 'deleteAlertChannel', summary: 'Delete an alert channel no rule uses' })
  @channelId('oncall-mail')
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors({
    404: NO_CHANNEL,
    409: {
      description: 'Rules still use the channel: remove it from them first.',
      examples: { inUse: 'alert channel "log" is used by the rules capacity-high; remove it from them first' },
    },
    503: NOT_SAVED,
  })
  async remove(@Param('id') id: string): Promise<void> {
    await this.configs.deleteChannel(id);
  }

  /** 200 with the history entry once delivered; 502 naming the failure when the channel could not be reached. */
  @Post(':id/test')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'testAlertChannel',
    summary: 'Send a test alert through a channel',
    description:
      'A `status: "test"` notification, sent whether the channel is enabled or not, with the usual timeout and ' +
      'retries. Recorded in the history (rule id `test`).',
  })
  @channelId('log')
  @ApiOkResponse({ description: 'Delivered: the history entry.', type: AlertHistoryEntryView })
  @ApiErrors({
    404: NO_CHANNEL,
    502: {
      description: 'The channel could not be reached: the message names the failure.',
      examples: {
        failed:
          'the test alert through channel "pager" failed after 3 attempt(s): POST https://pager.example.com/herald answered 500',
      },
    },
  })
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
