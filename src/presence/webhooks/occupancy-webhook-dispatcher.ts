import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';
import { postJson } from '../../outbound/http-post.js';
import { RetryingSender } from '../../outbound/retrying-sender.js';
import { webhookHeaders } from '../../outbound/signed-webhook.js';
import { OCCUPANCY_SOURCE, type OccupancySource, type OccupancyTransition } from '../occupancy-source.js';
import { DeliveryQueue } from './delivery-queue.js';
import { OccupancyWebhooksConfig } from './occupancy-webhooks.config.js';

export const PRESENCE_WEBHOOKS_METRIC = 'herald_presence_webhooks_total';
/** `delivered`; `failed` (a 4xx other than 408/429, or every retry spent); `dropped` (never sent, see the queue). */
export const WEBHOOK_RESULTS = ['delivered', 'failed', 'dropped'] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];
export type PresenceWebhooksCounter = Counter<'event' | 'result'>;

/** Deliveries of one webhook under way at once; always of different topics (one topic's go one at a time). */
export const CONCURRENCY_PER_WEBHOOK = 4;

/** One transition for one webhook: its id is `X-Herald-Delivery`, the same on every retry. */
interface Delivery {
  id: string;
  webhookId: string;
  event: OccupancyTransition['event'];
  topic: string;
  body: string;
}

/**
 * Sends each transition this instance hears to every webhook whose prefix
 * matches: a signed JSON POST, retried with backoff (OCCUPANCY_WEBHOOK_RETRIES,
 * each attempt bounded by OCCUPANCY_WEBHOOK_TIMEOUT_MS), one bounded queue per
 * webhook (OCCUPANCY_WEBHOOK_QUEUE_SIZE) in which a topic's transitions keep
 * their order. Hearing a transition only queues it: the source never waits.
 */
@Injectable()
export class OccupancyWebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OccupancyWebhooks');
  private readonly queues = new Map<string, DeliveryQueue<Delivery>>();
  /** Webhooks whose queue dropped since it last ran empty: warned once, not once per drop. */
  private readonly dropping = new Set<string>();
  private readonly sender: RetryingSender;
  private stopListening: (() => void) | undefined;

  constructor(
    @Inject(OCCUPANCY_SOURCE) private readonly source: OccupancySource,
    private readonly configs: OccupancyWebhooksConfig,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @InjectMetric(PRESENCE_WEBHOOKS_METRIC) private readonly counter: PresenceWebhooksCounter,
  ) {
    this.sender = new RetryingSender({
      retries: config.occupancyWebhookRetries,
      timeoutMs: config.occupancyWebhookTimeoutMs,
    });
  }

  /** After every module's init: the webhooks are loaded before the first transition is heard. */
  onApplicationBootstrap(): void {
    this.stopListening = this.source.onTransition((transition) => this.notify(transition));
  }

  onModuleDestroy(): void {
    this.stopListening?.();
    for (const queue of this.queues.values()) queue.clear();
    this.sender.close();
  }

  /** Queues `transition` for every matching webhook and returns at once. */
  notify({ event, topic, at }: OccupancyTransition): void {
    const body = JSON.stringify({ event, topic, at: new Date(at).toISOString() });
    for (const webhook of this.configs.webhooks) {
      if (!topic.startsWith(webhook.prefix)) continue;
      this.queue(webhook.id).push(topic, { id: randomUUID(), webhookId: webhook.id, event, topic, body });
    }
  }

  private queue(webhookId: string): DeliveryQueue<Delivery> {
    let queue = this.queues.get(webhookId);
    if (!queue) {
      queue = new DeliveryQueue<Delivery>({
        capacity: this.config.occupancyWebhookQueueSize,
        concurrency: CONCURRENCY_PER_WEBHOOK,
        run: (delivery) => this.deliver(delivery),
        dropped: (delivery) => this.dropped(delivery, 'the queue is full'),
        idle: () => {
          this.queues.delete(webhookId);
          this.dropping.delete(webhookId);
        },
      });
      this.queues.set(webhookId, queue);
    }
    return queue;
  }

  /** Sent with the webhook as it is now (a new URL or secret applies to what still waits); a deleted one drops it. */
  private async deliver(delivery: Delivery): Promise<void> {
    const webhook = this.configs.webhooks.find((candidate) => candidate.id === delivery.webhookId);
    if (!webhook) return this.dropped(delivery, 'the webhook was deleted');
    const { body, id } = delivery;
    const outcome = await this.sender.send((signal) =>
      postJson(webhook.url, body, webhookHeaders(body, id, webhook.secret), signal),
    );
    this.count(delivery, outcome.delivered ? 'delivered' : 'failed');
    if (!outcome.delivered) {
      this.logger.warn({
        msg: 'occupancy webhook delivery failed',
        webhookId: webhook.id,
        deliveryId: id,
        event: delivery.event,
        topic: delivery.topic,
        attempts: outcome.attempts,
        // Messages of postJson name a status or a transport code, never the URL or the secret.
        error: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
      });
    }
  }

  private dropped(delivery: Delivery, why: string): void {
    this.count(delivery, 'dropped');
    if (this.dropping.has(delivery.webhookId)) return;
    this.dropping.add(delivery.webhookId);
    this.logger.warn({
      msg: `occupancy webhook deliveries dropped: ${why} (counted in ${PRESENCE_WEBHOOKS_METRIC})`,
      webhookId: delivery.webhookId,
      event: delivery.event,
      topic: delivery.topic,
    });
  }

  private count(delivery: Delivery, result: WebhookResult): void {
    this.counter.inc({ event: delivery.event, result });
  }
}
