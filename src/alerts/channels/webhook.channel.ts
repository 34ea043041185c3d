import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsString } from 'class-validator';
import { postJson } from '../../outbound/http-post.js';
import { webhookHeaders } from '../../outbound/signed-webhook.js';
import { MASK, type AlertNotification, type ChannelConfig } from '../alert-model.js';
import { IsWebhookSecret } from '../../openapi/webhooks.js';
import { ChannelDto, ChannelView, IsHttpUrl } from './alert-channel.js';
import type { AlertChannel, ChannelKind, SendContext } from './alert-channel.js';

const KIND = 'webhook';
const URL_PROPERTY = { type: 'string', format: 'uri', example: 'https://pager.example.com/herald' } as const;

@ApiSchema({
  name: 'WebhookChannelInput',
  description:
    'A JSON POST of the notification with `X-Herald-Timestamp` (unix ms) and `X-Herald-Delivery`; with a ' +
    'secret also `X-Herald-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`.',
})
export class WebhookChannelDto extends ChannelDto {
  @ApiProperty({ enum: [KIND] })
  @IsString()
  kind!: typeof KIND;

  @ApiProperty(URL_PROPERTY)
  @IsHttpUrl()
  url!: string;

  @IsWebhookSecret()
  secret?: string;
}

@ApiSchema({ name: 'WebhookChannel', description: 'A webhook channel; its secret, when it has one, is masked.' })
export class WebhookChannelView extends ChannelView {
  @ApiProperty({ enum: [KIND] })
  kind!: typeof KIND;

  @ApiProperty(URL_PROPERTY)
  url!: string;

  @ApiPropertyOptional({ enum: [MASK], description: 'Present when the channel has a secret; never shown.' })
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

/** A JSON POST of the notification itself, signed when the channel has a secret (docs/operations.md, Alerts). */
@Injectable()
export class WebhookChannel implements AlertChannel {
  readonly kind = KIND;
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

const example = { id: 'pager', name: 'pager bridge', kind: KIND };
const url = 'https://pager.example.com/herald';

export const WEBHOOK_KIND: ChannelKind = {
  kind: KIND,
  provider: WebhookChannel,
  input: WebhookChannelDto,
  stored: WebhookChannelView,
  examples: {
    input: { summary: 'Signed webhook', value: { ...example, url, secret: 'a-long-shared-secret' } },
    stored: { summary: 'Signed webhook', value: { ...example, enabled: true, url, secret: MASK } },
  },
};
