import { Inject, Injectable } from '@nestjs/common';
import { ALERT_CHANNELS, type AlertChannel } from './alert-channel.js';

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
