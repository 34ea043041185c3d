import { Inject, Injectable } from '@nestjs/common';
import { ALERT_CHANNELS, type AlertChannel, type ChannelKind } from './alert-channel.js';
import { EMAIL_KIND } from './email.channel.js';
import { LOG_KIND } from './log.channel.js';
import { SLACK_KIND } from './slack.channel.js';
import { WEBHOOK_KIND } from './webhook.channel.js';

/**
 * Every channel kind, in the order the API documents them. A new kind is its
 * file (DTO, stored shape, examples, provider: see log.channel.ts) and one
 * line here; alerts.module.ts and alerts.openapi.ts read this list.
 */
export const CHANNEL_KINDS: readonly ChannelKind[] = [SLACK_KIND, EMAIL_KIND, WEBHOOK_KIND, LOG_KIND];

/** The registered channel kinds, by name. */
@Injectable()
export class ChannelKinds {
  private readonly byKind: ReadonlyMap<string, AlertChannel>;

  constructor(@Inject(ALERT_CHANNELS) channels: AlertChannel[]) {
    this.byKind = new Map(channels.map((channel) => [channel.kind, channel]));
  }

  get names(): string[] {
    return [...this.byKind.keys()];
  }

  get(kind: string): AlertChannel | undefined {
    return this.byKind.get(kind);
  }
}
