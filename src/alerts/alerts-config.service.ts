import { ConflictException, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { StoredDocument } from '../store/stored-document.js';
import { checkSameId, findItem, isObject, newItemId } from '../store/items.js';
import type { AlertRule, AlertsDocument, ChannelConfig } from './alert-model.js';
import { channelFrom, defaultDocument, parseDocument, ruleFrom } from './alerts-document.js';
import { ChannelKinds } from './channels/channel-kinds.js';
import type { RuleDto } from './dto/rule.dto.js';
import { ALERTS_STORE, type AlertsStore } from './store/alerts-store.js';

/**
 * The alert configuration (channels and rules): held in memory for the rules
 * engine, written through to the store (see `StoredDocument`).
 */
@Injectable()
export class AlertsConfigService implements OnModuleDestroy {
  private readonly stored: StoredDocument<AlertsDocument>;

  constructor(
    @Inject(ALERTS_STORE) store: AlertsStore,
    private readonly kinds: ChannelKinds,
  ) {
    this.stored = new StoredDocument({
      store,
      what: 'alert configuration',
      empty: { version: 1, revision: 0, channels: [], rules: [] },
      defaults: defaultDocument,
      parse: (raw) => parseDocument(raw, kinds),
      logger: new Logger('Alerts'),
    });
  }

  get shared(): boolean {
    return this.stored.shared;
  }

  /**
   * At start-up: the stored configuration, or the defaults, written on the first start.
   * A shared store that cannot be reached yet (Redis down) is not fatal: Herald starts
   * with no rules and loads it on a later snapshot (`refresh`).
   */
  load(): Promise<void> {
    return this.stored.load();
  }

  /** Takes a newer document another instance wrote to a shared store; keeps the current one if it cannot. */
  refresh(): Promise<void> {
    return this.stored.refresh();
  }

  onModuleDestroy(): Promise<void> {
    return this.stored.close();
  }

  get rules(): readonly AlertRule[] {
    return this.stored.current.rules;
  }

  get channels(): readonly ChannelConfig[] {
    return this.stored.current.channels;
  }

  channel(id: string): ChannelConfig {
    return findItem(this.channels, id, 'alert channel');
  }

  rule(id: string): AlertRule {
    return findItem(this.rules, id, 'alert rule');
  }

  /** The channel as responses show it: write-only secrets masked. */
  masked(channel: ChannelConfig): ChannelConfig {
    return this.kinds.get(channel.kind)?.mask(channel) ?? channel;
  }

  createChannel(body: unknown): Promise<ChannelConfig> {
    return this.stored.change(async (document) => {
      const id = newItemId(body, document.channels);
      const channel = await channelFrom(id, body, this.kinds);
      return { document: { ...document, channels: [...document.channels, channel] }, result: channel };
    });
  }

  replaceChannel(id: string, body: unknown): Promise<ChannelConfig> {
    return this.stored.change(async (document) => {
      const stored = findItem(document.channels, id, 'alert channel');
      checkSameId(body, id);
      const provider = this.kinds.get(stored.kind);
      const incoming =
        isObject(body) && body.kind === stored.kind && provider ? provider.keepSecrets(body, stored) : body;
      const channel = await channelFrom(id, incoming, this.kinds);
      const channels = document.channels.map((candidate) => (candidate.id === id ? channel : candidate));
      return { document: { ...document, channels }, result: channel };
    });
  }

  deleteChannel(id: string): Promise<void> {
    return this.stored.change(async (document) => {
      findItem(document.channels, id, 'alert channel');
      const users = document.rules.filter((rule) => rule.channels.includes(id)).map((rule) => rule.id);
      if (users.length > 0) {
        throw new ConflictException(
          `alert channel ${JSON.stringify(id)} is used by the rules ${users.join(', ')}; remove it from them first`,
        );
      }
      const channels = document.channels.filter((channel) => channel.id !== id);
      return { document: { ...document, channels }, result: undefined };
    });
  }

  createRule(dto: RuleDto): Promise<AlertRule> {
    return this.stored.change(async (document) => {
      const rule = ruleFrom(newItemId(dto, document.rules), dto, document.channels);
      return { document: { ...document, rules: [...document.rules, rule] }, result: rule };
    });
  }

  replaceRule(id: string, dto: RuleDto): Promise<AlertRule> {
    return this.stored.change(async (document) => {
      findItem(document.rules, id, 'alert rule');
      checkSameId(dto, id);
      const rule = ruleFrom(id, dto, document.channels);
      const rules = document.rules.map((candidate) => (candidate.id === id ? rule : candidate));
      return { document: { ...document, rules }, result: rule };
    });
  }

  deleteRule(id: string): Promise<void> {
    return this.stored.change(async (document) => {
      findItem(document.rules, id, 'alert rule');
      return { document: { ...document, rules: document.rules.filter((rule) => rule.id !== id) }, result: undefined };
    });
  }
}
