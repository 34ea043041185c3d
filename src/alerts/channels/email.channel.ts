import { Injectable } from '@nestjs/common';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsEmail } from 'class-validator';
import { createTransport } from 'nodemailer';
import { MASK, type AlertNotification, type ChannelConfig } from '../alert-model.js';
import { DeliveryError } from '../../outbound/delivery-error.js';
import { ChannelDto, IsSmtpUrl, type AlertChannel, type SendContext } from './alert-channel.js';
import { factLines, headline } from './notification-text.js';

export class EmailChannelDto extends ChannelDto {
  /** `smtp://user:password@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start). */
  @IsSmtpUrl()
  smtpUrl!: string;

  @IsEmail()
  from!: string;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(50)
  @IsEmail({}, { each: true })
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
  readonly kind = 'email';
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
