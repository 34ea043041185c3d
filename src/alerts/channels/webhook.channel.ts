import { Injectable } from '@nestjs/common';
import { IsOptional, IsString, Length } from 'class-validator';
import { postJson } from '../../outbound/http-post.js';
import { webhookHeaders } from '../../outbound/signed-webhook.js';
import { MASK, type AlertNotification, type ChannelConfig } from '../alert-model.js';
import { ChannelDto, IsHttpUrl, type AlertChannel, type SendContext } from './alert-channel.js';

export class WebhookChannelDto extends ChannelDto {
  @IsHttpUrl()
  url!: string;

  @IsOptional()
  @IsString()
  @Length(1, 1024)
  secret?: string;
}

/** A webhook's signing secret as every answer shows it: masked, when there is one. */
export function maskSecret<T extends object>(webhook: T): T {
  return (webhook as { secret?: unknown }).secret === undefined ? webhook : { ...webhook, secret: MASK };
}

/** For a replace: `"secret": null` removes the secret; left out or sent back masked keeps the stored one. */
export function keepSecret(incoming: Record<string, unknown>, stored: object): Record<string, unknown> {
  if (incoming.secret !== undefined && incoming.secret !== null && incoming.secret !== MASK) return incoming;
  const { secret: _given, ...rest } = incoming;
  const kept = (stored as { secret?: unknown }).secret;
  return incoming.secret === null || kept === undefined ? rest : { ...rest, secret: kept };
}

/** A JSON POST of the notification itself, signed when the channel has a secret (API.md). */
@Injectable()
export class WebhookChannel implements AlertChannel {
  readonly kind = 'webhook';
  readonly dto = WebhookChannelDto;

  async send(notification: AlertNotification, channel: ChannelConfig, context: SendContext): Promise<void> {
    const { url, secret } = channel as ChannelConfig & WebhookChannelDto;
    const body = JSON.stringify(notification);
    await postJson(url, body, webhookHeaders(body, context.deliveryId, secret), context.signal);
  }

  mask(channel: ChannelConfig): ChannelConfig {
    return maskSecret(channel);
  }

  keepSecrets(incoming: Record<string, unknown>, stored: ChannelConfig): Record<string, unknown> {
    return keepSecret(incoming, stored);
  }

  secrets(channel: ChannelConfig): string[] {
    return typeof channel.secret === 'string' ? [channel.secret] : [];
  }
}
