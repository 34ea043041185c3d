import { Injectable } from '@nestjs/common';
import { IsOptional, IsString, Length } from 'class-validator';
import { createHmac } from 'node:crypto';
import { MASK, type AlertNotification, type ChannelConfig } from '../alert-model.js';
import { ChannelDto, IsHttpUrl, type AlertChannel, type SendContext } from './alert-channel.js';
import { postJson } from './http-post.js';

export class WebhookChannelDto extends ChannelDto {
  @IsHttpUrl()
  url!: string;

  @IsOptional()
  @IsString()
  @Length(1, 1024)
  secret?: string;
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, so a receiver can check the body and its age. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** A JSON POST of the notification itself, signed when the channel has a secret (API.md). */
@Injectable()
export class WebhookChannel implements AlertChannel {
  readonly kind = 'webhook';
  readonly dto = WebhookChannelDto;

  async send(notification: AlertNotification, channel: ChannelConfig, context: SendContext): Promise<void> {
    const { url, secret } = channel as ChannelConfig & WebhookChannelDto;
    const body = JSON.stringify(notification);
    // A fresh timestamp per attempt: a retry is not a replay, and receivers may bound the age.
    const timestamp = String(Date.now());
    const headers: Record<string, string> = {
      'x-herald-timestamp': timestamp,
      'x-herald-delivery': context.deliveryId,
    };
    if (secret !== undefined) headers['x-herald-signature'] = webhookSignature(secret, timestamp, body);
    await postJson(url, body, headers, context.signal);
  }

  mask(channel: ChannelConfig): ChannelConfig {
    return channel.secret === undefined ? channel : { ...channel, secret: MASK };
  }

  keepSecrets(incoming: Record<string, unknown>, stored: ChannelConfig): Record<string, unknown> {
    // `"secret": null` removes the secret; left out or sent back masked keeps the stored one.
    if (incoming.secret !== undefined && incoming.secret !== null && incoming.secret !== MASK) return incoming;
    const { secret: _given, ...rest } = incoming;
    return incoming.secret === null || stored.secret === undefined ? rest : { ...rest, secret: stored.secret };
  }

  secrets(channel: ChannelConfig): string[] {
    return typeof channel.secret === 'string' ? [channel.secret] : [];
  }
}
