import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { RetryingSender } from '../outbound/retrying-sender.js';
import { MASK, type AlertNotification, type ChannelConfig } from './alert-model.js';
import type { AlertDelivery } from './alert-history.js';
import { ChannelKinds } from './channels/channel-kinds.js';

export const NOTIFICATIONS_METRIC = 'herald_alert_notifications_total';
export type NotificationsCounter = Counter<'channel_kind' | 'result'>;

/** Replaces every secret of the channel in a message (errors may quote URLs or credentials). */
export function scrub(message: string, secrets: readonly string[]): string {
  let clean = message;
  for (const secret of secrets) if (secret.length >= 4) clean = clean.split(secret).join(MASK);
  return clean;
}

/**
 * Delivers notifications: every channel on its own, each attempt bounded by
 * ALERTS_SEND_TIMEOUT_MS, failures retried ALERTS_SEND_RETRIES times with
 * backoff. Nothing here is awaited by the snapshot or the event path, so a
 * hanging receiver holds only its own delivery.
 */
@Injectable()
export class AlertDispatcher implements OnModuleDestroy {
  private readonly logger = new Logger('Alerts');
  private readonly sender: RetryingSender;

  constructor(
    private readonly kinds: ChannelKinds,
    @Inject(HERALD_CONFIG) config: HeraldConfig,
    @InjectMetric(NOTIFICATIONS_METRIC) private readonly counter: NotificationsCounter,
  ) {
    this.sender = new RetryingSender({ retries: config.alertsSendRetries, timeoutMs: config.alertsSendTimeoutMs });
  }

  /** Sends to all `channels` at once; each delivery appears in `deliveries` at once and is updated as it goes. */
  dispatch(
    notification: AlertNotification,
    channels: readonly ChannelConfig[],
    deliveries: AlertDelivery[],
  ): Promise<AlertDelivery[]> {
    return Promise.all(channels.map((channel) => this.deliver(notification, channel, deliveries)));
  }

  onModuleDestroy(): void {
    this.sender.close();
  }

  private async deliver(
    notification: AlertNotification,
    channel: ChannelConfig,
    deliveries: AlertDelivery[],
  ): Promise<AlertDelivery> {
    const delivery: AlertDelivery = {
      channelId: channel.id,
      channelName: channel.name,
      kind: channel.kind,
      result: 'pending',
      attempts: 0,
    };
    deliveries.push(delivery);
    const provider = this.kinds.get(channel.kind);
    const deliveryId = randomUUID();
    const started = performance.now();
    if (provider) {
      const outcome = await this.sender.send((signal) => provider.send(notification, channel, { signal, deliveryId }), {
        started: (attempt) => (delivery.attempts = attempt),
        failed: (error) =>
          (delivery.error = scrub(error instanceof Error ? error.message : String(error), provider.secrets(channel))),
      });
      delivery.result = outcome.delivered ? 'delivered' : 'failed';
      if (outcome.delivered) delete delivery.error;
    } else {
      Object.assign(delivery, { result: 'failed', error: `no channel kind "${channel.kind}"` });
    }
    delivery.durationMs = Math.round(performance.now() - started);
    this.counter.inc({ channel_kind: channel.kind, result: delivery.result });
    if (delivery.result === 'failed') {
      this.logger.warn({
        msg: 'alert delivery failed',
        status: notification.status,
        ruleId: notification.rule.id,
        channelId: channel.id,
        kind: channel.kind,
        attempts: delivery.attempts,
        error: delivery.error,
      });
    }
    return delivery;
  }
}
