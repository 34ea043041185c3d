import { Injectable, Logger } from '@nestjs/common';
import { IsString } from 'class-validator';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { AlertNotification, ChannelConfig } from '../alert-model.js';
import { ChannelDto, ChannelView, type AlertChannel, type ChannelKind } from './alert-channel.js';
import { headline } from './notification-text.js';

const KIND = 'log';

@ApiSchema({
  name: 'LogChannelInput',
  description: "One JSON line in Herald's own log (error for critical firings, warn for others).",
})
export class LogChannelDto extends ChannelDto {
  @ApiProperty({ enum: [KIND] })
  @IsString()
  kind!: typeof KIND;
}

@ApiSchema({ name: 'LogChannel', description: "A channel writing to Herald's log." })
export class LogChannelView extends ChannelView {
  @ApiProperty({ enum: [KIND] })
  kind!: typeof KIND;
}

/** Writes the notification as one structured log line: warn/error while firing, info otherwise. */
@Injectable()
export class LogChannel implements AlertChannel {
  readonly kind = KIND;
  readonly dto = LogChannelDto;
  private readonly logger = new Logger('Alerts');

  async send(notification: AlertNotification, channel: ChannelConfig): Promise<void> {
    const entry = { msg: headline(notification), channel: channel.name, alert: notification };
    if (notification.status !== 'firing') this.logger.log(entry);
    else if (notification.severity === 'critical') this.logger.error(entry);
    else this.logger.warn(entry);
  }

  mask(channel: ChannelConfig): ChannelConfig {
    return channel;
  }

  keepSecrets(incoming: Record<string, unknown>): Record<string, unknown> {
    return incoming;
  }

  secrets(): string[] {
    return [];
  }
}

export const LOG_KIND: ChannelKind = {
  kind: KIND,
  provider: LogChannel,
  input: LogChannelDto,
  stored: LogChannelView,
  examples: { input: { summary: "Herald's log", value: { id: 'ops-log', name: 'ops log', kind: KIND } } },
};
