import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ID_PATTERN } from '../../alerts/alert-model.js';
import { keepSecret, maskSecret } from '../../alerts/channels/webhook.channel.js';
import { HERALD_CONFIG, type HeraldConfig } from '../../config/herald-config.js';
import type { DocumentStore } from '../../store/document-store.js';
import { checkSameId, findItem, newItemId } from '../../store/items.js';
import { StoredDocument } from '../../store/stored-document.js';
import { checkedAt, documentLists, storedId, validateBody } from '../../store/validation.js';
import { OccupancyWebhookDto, type OccupancyWebhook, type OccupancyWebhooksDocument } from './occupancy-webhook.dto.js';

/** Injection token of the webhooks' store (file, or Redis when BROKER=redis). */
export const OCCUPANCY_WEBHOOKS_STORE = Symbol('OCCUPANCY_WEBHOOKS_STORE');

/** A validated body as it is stored: the secret only when there is one, the prefix always. */
function webhookFrom(id: string, dto: OccupancyWebhookDto): OccupancyWebhook {
  return {
    id,
    url: dto.url,
    ...(typeof dto.secret === 'string' ? { secret: dto.secret } : {}),
    prefix: dto.prefix ?? '',
  };
}

/** Checks a stored document as strictly as the API checks a request (a bad hand edit stops start-up, naming the field). */
export async function parseWebhooksDocument(raw: unknown): Promise<OccupancyWebhooksDocument> {
  const document = documentLists(raw, ['webhooks']);
  const webhooks: OccupancyWebhook[] = [];
  for (const [index, stored] of document.webhooks.entries()) {
    const where = `webhooks[${index}]`;
    const id = storedId(stored, where, webhooks, ID_PATTERN);
    const dto = await checkedAt(where, () => validateBody(OccupancyWebhookDto, stored));
    webhooks.push(webhookFrom(id, dto as unknown as OccupancyWebhookDto));
  }
  return { version: 1, revision: (raw as OccupancyWebhooksDocument).revision, webhooks };
}

/**
 * The occupancy webhooks: held in memory for the dispatcher, written through
 * to the store. A shared store (Redis) is re-read every SNAPSHOT_INTERVAL_MS,
 * so a change made on one instance reaches the others within that.
 */
@Injectable()
export class OccupancyWebhooksConfig implements OnModuleInit, OnModuleDestroy {
  private readonly stored: StoredDocument<OccupancyWebhooksDocument>;
  private refresher: NodeJS.Timeout | undefined;

  constructor(
    @Inject(OCCUPANCY_WEBHOOKS_STORE) store: DocumentStore<OccupancyWebhooksDocument>,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {
    this.stored = new StoredDocument({
      store,
      what: 'occupancy webhook configuration',
      // No file or key until the first webhook: an empty list is not worth a log line at start-up.
      empty: { version: 1, revision: 0, webhooks: [] },
      parse: parseWebhooksDocument,
      logger: new Logger('OccupancyWebhooks'),
    });
  }

  async onModuleInit(): Promise<void> {
    await this.stored.load();
    if (!this.stored.shared) return;
    this.refresher = setInterval(() => void this.stored.refresh(), this.config.snapshotIntervalMs);
    this.refresher.unref();
  }

  onModuleDestroy(): Promise<void> {
    clearInterval(this.refresher);
    return this.stored.close();
  }

  get webhooks(): readonly OccupancyWebhook[] {
    return this.stored.current.webhooks;
  }

  webhook(id: string): OccupancyWebhook {
    return findItem(this.webhooks, id, 'occupancy webhook');
  }

  /** The webhook as every answer shows it: its secret masked. */
  masked(webhook: OccupancyWebhook): OccupancyWebhook {
    return maskSecret(webhook);
  }

  create(dto: OccupancyWebhookDto): Promise<OccupancyWebhook> {
    return this.stored.change(async (document) => {
      const webhook = webhookFrom(newItemId(dto, document.webhooks), dto);
      return { document: { ...document, webhooks: [...document.webhooks, webhook] }, result: webhook };
    });
  }

  /** Replaces the webhook; its secret left out or sent back masked is kept, `null` removes it. */
  replace(id: string, dto: OccupancyWebhookDto): Promise<OccupancyWebhook> {
    return this.stored.change(async (document) => {
      const stored = findItem(document.webhooks, id, 'occupancy webhook');
      checkSameId(dto, id);
      const webhook = webhookFrom(id, keepSecret({ ...dto }, stored) as unknown as OccupancyWebhookDto);
      const webhooks = document.webhooks.map((candidate) => (candidate.id === id ? webhook : candidate));
      return { document: { ...document, webhooks }, result: webhook };
    });
  }

  remove(id: string): Promise<void> {
    return this.stored.change(async (document) => {
      findItem(document.webhooks, id, 'occupancy webhook');
      const webhooks = document.webhooks.filter((webhook) => webhook.id !== id);
      return { document: { ...document, webhooks }, result: undefined };
    });
  }
}
