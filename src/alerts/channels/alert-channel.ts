import type { Type } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Length, Matches, ValidateBy, type ValidationOptions } from 'class-validator';
import { ID_PATTERN, ID_PROPERTY, ID_RULE, type AlertNotification, type ChannelConfig } from '../alert-model.js';

/** Injection token of every channel kind: `AlertChannel[]`, one provider class per kind. */
export const ALERT_CHANNELS = Symbol('ALERT_CHANNELS');

export interface SendContext {
  /** Aborted when the attempt times out or Herald shuts down. */
  signal: AbortSignal;
  /** The same for every attempt of one delivery, so a receiver can drop a retried duplicate. */
  deliveryId: string;
}

/** The provider that sends through one kind of channel (slack, email, webhook, log). */
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

export interface ChannelExample {
  summary: string;
  value: Record<string, unknown>;
}

/**
 * Everything one channel kind contributes, from its own file
 * (channels/<kind>.channel.ts); CHANNEL_KINDS (channel-kinds.ts) lists them.
 */
export interface ChannelKind {
  kind: string;
  /** Sends; registered under ALERT_CHANNELS. */
  provider: Type<AlertChannel>;
  /** The request body: validated and documented. */
  input: Type<ChannelDto>;
  /** The channel as answers show it, secrets masked. */
  stored: Type<ChannelView>;
  examples: {
    /** A create body (its id is dropped for the replace examples). */
    input: ChannelExample;
    /** The same channel as answered; a kind without one is left out of the answer examples. */
    stored?: ChannelExample;
  };
}

/** What every channel body has, whatever its kind; each kind's class adds `kind` (`@IsString()`) and its settings. */
export class ChannelDto {
  @ApiPropertyOptional({
    ...ID_PROPERTY,
    description: 'On create: choose a readable id (else a UUID is made; 409 if taken). On replace: the id of the path.',
    example: 'pager',
  })
  @IsOptional()
  @Matches(ID_PATTERN, { message: ID_RULE })
  id?: string;

  @ApiProperty({ type: 'string', minLength: 1, maxLength: 200, example: 'pager bridge' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({
    type: 'boolean',
    default: true,
    description: 'A disabled channel is skipped by rules.',
    example: true,
  })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

/** What every channel answered has (secrets masked); each kind's class adds `kind` and its settings. */
export class ChannelView {
  @ApiProperty({ ...ID_PROPERTY, example: 'pager' })
  id!: string;

  @ApiProperty({ type: 'string', example: 'pager bridge' })
  name!: string;

  @ApiProperty({ type: 'boolean', example: true })
  enabled!: boolean;
}

function parseUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** A URL of one of `protocols` with a host. */
function IsUrlOf(name: string, protocols: string[], rule: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name,
      validator: {
        validate: (value) => {
          const url = parseUrl(value);
          return url !== undefined && protocols.includes(url.protocol) && url.hostname !== '';
        },
        defaultMessage: (args) => `${args?.property} ${rule}`,
      },
    },
    options,
  );
}

/** An absolute http:// or https:// URL with a host (what `fetch` will be given). */
export const IsHttpUrl = (options?: ValidationOptions): PropertyDecorator =>
  IsUrlOf('isHttpUrl', ['http:', 'https:'], 'must be an absolute http:// or https:// URL', options);

/** `smtp://[user[:password]@]host[:port]` or `smtps://…` (what nodemailer's `url` option takes). */
export const IsSmtpUrl = (options?: ValidationOptions): PropertyDecorator =>
  IsUrlOf(
    'isSmtpUrl',
    ['smtp:', 'smtps:'],
    'must be an smtp:// or smtps:// URL like smtp://user:password@mail.example.com:587',
    options,
  );
