import { Injectable } from '@nestjs/common';
import { IsString } from 'class-validator';
import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { MASK, type AlertNotification, type ChannelConfig, type Severity } from '../alert-model.js';
import { ChannelDto, ChannelView, IsHttpUrl } from './alert-channel.js';
import type { AlertChannel, ChannelKind, SendContext } from './alert-channel.js';
import { postJson } from '../../outbound/http-post.js';
import { factLines, headline } from './notification-text.js';

const KIND = 'slack';
const MASKED = `\`${MASK}\``;

@ApiSchema({
  name: 'SlackChannelInput',
  description: 'A Slack incoming webhook: the notification as `text` plus blocks with the facts.',
})
export class SlackChannelDto extends ChannelDto {
  @ApiProperty({ enum: [KIND] })
  @IsString()
  kind!: typeof KIND;

  @ApiProperty({
    type: 'string',
    format: 'uri',
    description: `The incoming-webhook URL. Its path is the credential: answers show it as ${MASKED}.`,
    example: 'https://hooks.slack.com/services/T000/B000/XXXX',
  })
  @IsHttpUrl()
  url!: string;
}

@ApiSchema({ name: 'SlackChannel', description: 'A Slack channel; the path of its URL is masked.' })
export class SlackChannelView extends ChannelView {
  @ApiProperty({ enum: [KIND] })
  kind!: typeof KIND;

  @ApiProperty({
    type: 'string',
    pattern: '^https?://[^/]+/\\*{8}$',
    description: `The webhook's origin; its path, the credential, is ${MASKED}.`,
    example: `https://hooks.slack.com/${MASK}`,
  })
  url!: string;
}

const ICON: Record<Severity | 'resolved' | 'test', string> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
  resolved: ':white_check_mark:',
  test: ':test_tube:',
};

/** Slack's mrkdwn treats these three as control characters. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The Slack incoming-webhook body: `text` (notifications, fallbacks) and blocks with the facts. */
export function slackMessage(notification: AlertNotification): { text: string; blocks: unknown[] } {
  const icon = ICON[notification.status === 'firing' ? notification.severity : notification.status];
  const text = `${icon} ${escapeMrkdwn(headline(notification))}`;
  const facts = factLines(notification).filter(([label]) => label !== 'Instance');
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${text}*` } },
      // Slack allows at most 10 fields per section.
      {
        type: 'section',
        fields: facts.slice(0, 10).map(([label, value]) => ({
          type: 'mrkdwn',
          text: `*${label}*\n${escapeMrkdwn(value)}`,
        })),
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Herald ${escapeMrkdwn(notification.instance)}` }] },
    ],
  };
}

/** Keeps the origin (so an operator can tell which workspace) and hides the path, the credential. */
function maskUrl(url: string): string {
  try {
    return `${new URL(url).origin}/${MASK}`;
  } catch {
    return MASK;
  }
}

@Injectable()
export class SlackChannel implements AlertChannel {
  readonly kind = KIND;
  readonly dto = SlackChannelDto;

  async send(notification: AlertNotification, channel: ChannelConfig, context: SendContext): Promise<void> {
    const { url } = channel as ChannelConfig & SlackChannelDto;
    await postJson(url, JSON.stringify(slackMessage(notification)), {}, context.signal);
  }

  mask(channel: ChannelConfig): ChannelConfig {
    return { ...channel, url: maskUrl(String(channel.url)) };
  }

  keepSecrets(incoming: Record<string, unknown>, stored: ChannelConfig): Record<string, unknown> {
    const url = incoming.url;
    if (url === undefined || (typeof url === 'string' && url.includes(MASK))) return { ...incoming, url: stored.url };
    return incoming;
  }

  secrets(channel: ChannelConfig): string[] {
    const url = String(channel.url);
    try {
      const path = new URL(url).pathname + new URL(url).search;
      return path.length > 1 ? [url, path] : [url];
    } catch {
      return [url];
    }
  }
}

export const SLACK_KIND: ChannelKind = {
  kind: KIND,
  provider: SlackChannel,
  input: SlackChannelDto,
  stored: SlackChannelView,
  examples: {
    input: {
      summary: 'Slack',
      value: { id: 'ops-slack', name: '#ops', kind: KIND, url: 'https://hooks.slack.com/services/T000/B000/XXXX' },
    },
    stored: {
      summary: 'Slack',
      value: { id: 'ops-slack', name: '#ops', kind: KIND, enabled: true, url: `https://hooks.slack.com/${MASK}` },
    },
  },
};
