import type { Type } from '@nestjs/common';
import { IsBoolean, IsOptional, IsString, Length, Matches, ValidateBy, type ValidationOptions } from 'class-validator';
import { ID_PATTERN, ID_RULE, type AlertNotification, type ChannelConfig } from '../alert-model.js';

/** Injection token of every channel kind: `AlertChannel[]`, one provider class per kind. */
export const ALERT_CHANNELS = Symbol('ALERT_CHANNELS');

export interface SendContext {
  /** Aborted when the attempt times out or Herald shuts down. */
  signal: AbortSignal;
  /** The same for every attempt of one delivery, so a receiver can drop a retried duplicate. */
  deliveryId: string;
}

/**
 * One kind of channel (slack, email, webhook, log). Adding a kind is one
 * class implementing this and one entry in `CHANNEL_KINDS` (alerts.module.ts).
 */
export interface AlertChannel {
  readonly kind: string;
  /** The class-validator DTO of a channel of this kind (extends `ChannelDto`). */
  readonly dto: Type<ChannelDto>;
  /** Delivers one notification, or throws (a `DeliveryError` says whether retrying can help). */
  send(notification: AlertNotification, channel: ChannelConfig, context: SendContext): Promise<void>;
  /** The channel as every response shows it: write-only secrets masked. */
  mask(channel: ChannelConfig): ChannelConfig;
  /** For a replace: secrets left out or sent back masked are taken from the stored channel. */
  keepSecrets(incoming: Record<string, unknown>, stored: ChannelConfig): Record<string, unknown>;
  /** Secret strings of this channel, scrubbed from every error message before it is kept or logged. */
  secrets(channel: ChannelConfig): string[];
}

/** What every channel body has, whatever its kind. */
export class ChannelDto {
  /** Chosen on create (else a UUID); on replace, the id of the path, as a GET returned it. */
  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_RULE })
  id?: string;

  @IsString()
  @Length(1, 200)
  name!: string;

  @IsString()
  kind!: string;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** An absolute http:// or https:// URL with a host (what `fetch` will be given). */
export function IsHttpUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHttpUrl',
      validator: {
        validate: (value) => {
          const url = parseUrl(value);
          return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
        },
        defaultMessage: (args) => `${args?.property} must be an absolute http:// or https:// URL`,
      },
    },
    options,
  );
}

/** `smtp://[user[:password]@]host[:port]` or `smtps://…` (what nodemailer's `url` option takes). */
export function IsSmtpUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSmtpUrl',
      validator: {
        validate: (value) => {
          const url = parseUrl(value);
          return url !== undefined && (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
        },
        defaultMessage: (args) =>
          `${args?.property} must be an smtp:// or smtps:// URL like smtp://user:password@mail.example.com:587`,
      },
    },
    options,
  );
}
