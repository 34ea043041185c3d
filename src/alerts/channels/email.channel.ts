import { Injectable } from '@nestjs/common';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsEmail, IsString } from 'class-validator';
import { createTransport } from 'nodemailer';
import { MASK, type AlertNotification, type ChannelConfig } from '../alert-model.js';
import { DeliveryError } from '../../outbound/delivery-error.js';
import { ChannelDto, ChannelView, IsSmtpUrl } from './alert-channel.js';
import type { AlertChannel, ChannelKind, SendContext } from './alert-channel.js';
import { factLines, headline } from './notification-text.js';

const KIND = 'email';
const MASKED = `\`${MASK}\``;
const FROM = { type: 'string', format: 'email', example: 'herald@example.com' } as const;

@ApiSchema({ name: 'EmailChannelInput', description: 'Email over SMTP: subject and plain-text body with the facts.' })
export class EmailChannelDto extends ChannelDto {
  @ApiProperty({ enum: [KIND] })
  @IsString()
  kind!: typeof KIND;

  @ApiProperty({
    type: 'string',
    pattern: '^smtps?://',
    description:
      '`smtp://user:password@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start). The ' +
      `password is write-only: answers show it as ${MASKED}; send it back masked (or leave smtpUrl out) to keep it.`,
    example: 'smtp://alerts:app-password@smtp.example.com:587',
  })
  @IsSmtpUrl()
  smtpUrl!: string;

  @ApiProperty(FROM)
  @IsEmail()
  from!: string;

  @ApiProperty({
    type: 'array',
    items: { type: 'string', format: 'email' },
    minItems: 1,
    maxItems: 50,
    example: ['oncall@example.com'],
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(50)
  @IsEmail({}, { each: true })
  to!: string[];
}

@ApiSchema({ name: 'EmailChannel', description: 'An email channel; the password in `smtpUrl` is masked.' })
export class EmailChannelView extends ChannelView {
  @ApiProperty({ enum: [KIND] })
  kind!: typeof KIND;

  @ApiProperty({
    type: 'string',
    pattern: '^smtps?://(?:[^:@/]*(?::\\*{8})?@)?[^@/]+(?:/.*)?$',
    description: `The SMTP URL with its password shown as ${MASKED}.`,
    example: `smtp://alerts:${MASK}@smtp.example.com:587`,
  })
  smtpUrl!: string;

  @ApiProperty(FROM)
  from!: string;

  @ApiProperty({ type: 'array', items: { type: 'string', format: 'email' }, example: ['oncall@example.com'] })
  to!: string[];
}

/** Subject and plain-text body carrying severity, rule, value and threshold. */
export function emailMessage(notification: AlertNotification): { subject: string; text: string } {
  const lines = factLines(notification).map(([label, value]) => `${label}: ${value}`);
  return { subject: `[Herald] ${headline(notification)}`, text: `${headline(notification)}\n\n${lines.join('\n')}\n` };
}

interface SmtpFailure {
  code?: unknown;
  responseCode?: unknown;
  message?: unknown;
}

/** A permanent SMTP answer (5xx) or refused credentials will not change on retry. */
function retryableSmtp(error: SmtpFailure): boolean {
  if (error.code === 'EAUTH' || error.code === 'EENVELOPE') return false;
  return !(typeof error.responseCode === 'number' && error.responseCode >= 500);
}

@Injectable()
export class EmailChannel implements AlertChannel {
  readonly kind = KIND;
  readonly dto = EmailChannelDto;

  async send(notification: AlertNotification, channel: ChannelConfig, context: SendContext): Promise<void> {
    const { smtpUrl, from, to } = channel as ChannelConfig & EmailChannelDto;
    const transport = createTransport({ url: smtpUrl });
    try {
      await transport.sendMail({ from, to, ...emailMessage(notification), signal: context.signal });
    } catch (error) {
      const failure = error as SmtpFailure;
      throw new DeliveryError(String(failure.message ?? error), retryableSmtp(failure));
    } finally {
      transport.close();
    }
  }

  mask(channel: ChannelConfig): ChannelConfig {
    const url = new URL(String(channel.smtpUrl));
    if (url.password === '') return channel;
    url.password = MASK;
    return { ...channel, smtpUrl: url.href };
  }

  keepSecrets(incoming: Record<string, unknown>, stored: ChannelConfig): Record<string, unknown> {
    if (incoming.smtpUrl === undefined) return { ...incoming, smtpUrl: stored.smtpUrl };
    if (typeof incoming.smtpUrl !== 'string') return incoming;
    let url: URL;
    try {
      url = new URL(incoming.smtpUrl);
    } catch {
      return incoming;
    }
    // A user with no password, or with the mask, means "the same password as before".
    if (url.username === '' || (url.password !== '' && url.password !== MASK)) return incoming;
    url.password = new URL(String(stored.smtpUrl)).password;
    return { ...incoming, smtpUrl: url.href };
  }

  secrets(channel: ChannelConfig): string[] {
    const url = new URL(String(channel.smtpUrl));
    if (url.password === '') return [];
    return [url.password, decodeURIComponent(url.password)];
  }
}

const to = ['oncall@example.com'];
const example = (enabled: object, password: string) => ({
  id: 'oncall-mail',
  name: 'on-call',
  kind: KIND,
  ...enabled,
  smtpUrl: `smtp://alerts:${password}@smtp.example.com:587`,
  from: 'herald@example.com',
  to,
});

export const EMAIL_KIND: ChannelKind = {
  kind: KIND,
  provider: EmailChannel,
  input: EmailChannelDto,
  stored: EmailChannelView,
  examples: {
    input: { summary: 'Email', value: example({}, 'app-password') },
    stored: { summary: 'Email', value: example({ enabled: true }, MASK) },
  },
};
