import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HERALD_CONFIG, type HeraldConfig } from '../config/herald-config.js';
import { MASK, type AlertNotification, type ChannelConfig } from './alert-model.js';
import type { AlertDelivery } from './alert-history.js';
import { DeliveryError, type AlertChannel } from './channels/alert-channel.js';
import { ChannelKinds } from './channels/channel-kinds.js';

export const NOTIFICATIONS_METRIC = 'herald_alert_notifications_total';
export type NotificationsCounter = Counter<'channel_kind' | 'result'>;

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** 500 ms, 1 s, 2 s … (±25 % so retries of many deliveries do not arrive together), at most 30 s. */
export function backoffMs(failedAttempts: number, random = Math.random()): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failedAttempts - 1));
  return Math.round(base * (0.75 + random / 2));
}

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
  private readonly attempts = new Set<AbortController>();
  private readonly shutdown = new AbortController();

  constructor(
    private readonly kinds: ChannelKinds,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @InjectMetric(NOTIFICATIONS_METRIC) private readonly counter: NotificationsCounter,
  ) {}

  /** Sends to all `channels` at once; each delivery appears in `deliveries` at once and is updated as it goes. */
  dispatch(
    notification: AlertNotification,
    channels: readonly ChannelConfig[],
    deliveries: AlertDelivery[],
  ): Promise<AlertDelivery[]> {
    return Promise.all(channels.map((channel) => this.deliver(notification, channel, deliveries)));
  }

  onModuleDestroy(): void {
    this.shutdown.abort();
    for (const attempt of this.attempts) attempt.abort();
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
    while (provider && delivery.result === 'pending') {
      delivery.attempts++;
      try {
        await this.attempt(provider, notification, channel, deliveryId);
        delivery.result = 'delivered';
        delete delivery.error;
      } catch (error) {
        delivery.error = scrub(error instanceof Error ? error.message : String(error), provider.secrets(channel));
        const retryable = !(error instanceof DeliveryError) || error.retryable;
        if (!retryable || delivery.attempts > this.config.alertsSendRetries || this.shutdown.signal.aborted) {
          delivery.result = 'failed';
        } else {
          await sleep(backoffMs(delivery.attempts), undefined, { signal: this.shutdown.signal }).catch(() => undefined);
        }
      }
    }
    if (!provider) Object.assign(delivery, { result: 'failed', error: `no channel kind "${channel.kind}"` });
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

  /** One try, abandoned (and its request aborted) when ALERTS_SEND_TIMEOUT_MS is over, even if the channel ignores its signal. */
  private async attempt(
    provider: AlertChannel,
    notification: AlertNotification,
    channel: ChannelConfig,
    deliveryId: string,
  ): Promise<void> {
    const attempt = new AbortController();
    this.attempts.add(attempt);
    const timeoutMs = this.config.alertsSendTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      const giveUp = (why: string): void => reject(new DeliveryError(why, true));
      timer = setTimeout(() => {
        giveUp(`timed out after ${timeoutMs} ms`);
        attempt.abort();
      }, timeoutMs);
      attempt.signal.addEventListener('abort', () => giveUp('Herald is shutting down'), { once: true });
    });
    try {
      await Promise.race([provider.send(notification, channel, { signal: attempt.signal, deliveryId }), abandoned]);
    } finally {
      clearTimeout(timer);
      this.attempts.delete(attempt);
    }
  }
}
