import { Injectable, Logger } from '@nestjs/common';
import type { AlertNotification, ChannelConfig } from '../alert-model.js';
import { ChannelDto, type AlertChannel } from './alert-channel.js';
import { headline } from './notification-text.js';

export class LogChannelDto extends ChannelDto {}

/** Writes the notification as one structured log line: warn/error while firing, info otherwise. */
@Injectable()
export class LogChannel implements AlertChannel {
  readonly kind = 'log';
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
