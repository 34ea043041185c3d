import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleDestroy,
  ServiceUnavailableException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertRule, AlertsDocument, ChannelConfig } from './alert-model.js';
import { channelFrom, defaultDocument, InvalidDocumentError, parseDocument, ruleFrom } from './alerts-document.js';
import { ChannelKinds } from './channels/channel-kinds.js';
import type { RuleDto } from './dto/rule.dto.js';
import {
  ALERTS_STORE,
  AlertsStoreError,
  AlertsStoreUnavailableError,
  StoreConflictError,
  type AlertsStore,
} from './store/alerts-store.js';

type Edit<T> = (document: AlertsDocument) => Promise<{ document: Omit<AlertsDocument, 'revision'>; result: T }>;

/**
 * A shared store may be written by another instance between our read and our
 * write; then we re-read and redo, after a random pause so that two busy
 * instances stop colliding. Each conflict means another write succeeded.
 */
const CONFLICT_RETRIES = 20;
const CONFLICT_PAUSE_MS = 10;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The alert configuration (channels and rules): held in memory for the rules
 * engine, written through to the store. Writes run one at a time, each on the
 * document the previous one produced, so concurrent admin requests never lose
 * an update; memory changes only once the store has the new document.
 */
@Injectable()
export class AlertsConfigService implements OnModuleDestroy {
  private document: AlertsDocument = { version: 1, revision: 0, channels: [], rules: [] };
  private writes: Promise<unknown> = Promise.resolve();
  private readonly logger = new Logger('Alerts');
  private lastRefreshProblem: string | undefined;
  private loaded = false;
  private refreshing = false;

  constructor(
    @Inject(ALERTS_STORE) private readonly store: AlertsStore,
    private readonly kinds: ChannelKinds,
  ) {}

  get shared(): boolean {
    return this.store.shared;
  }

  /**
   * At start-up: the stored configuration, or the defaults, written on the first start.
   * A shared store that cannot be reached yet (Redis down) is not fatal: Herald starts
   * with no rules and loads it on a later snapshot (`refresh`).
   */
  async load(): Promise<void> {
    try {
      await this.loadOrCreate();
      this.loaded = true;
    } catch (error) {
      if (!(error instanceof AlertsStoreUnavailableError)) throw error;
      this.logger.warn({ msg: 'alerts store unreachable; will load it when it answers', problem: error.message });
    }
  }

  private async loadOrCreate(): Promise<void> {
    const stored = await this.read();
    if (stored !== undefined) {
      this.document = stored;
      return;
    }
    const defaults = defaultDocument();
    try {
      await this.store.save(defaults);
      this.document = defaults;
      this.logger.log({ msg: 'alerts store created with the default rules', store: this.store.location });
    } catch (error) {
      // Another instance wrote the first document in the meantime: take that one.
      if (!(error instanceof StoreConflictError)) throw error;
      this.document = (await this.read()) ?? defaults;
    }
  }

  /** Takes a newer document another instance wrote to a shared store; keeps the current one if it cannot. */
  async refresh(): Promise<void> {
    // One refresh at a time: a slow store must not pile them up, one per snapshot.
    if (this.refreshing) return;
    this.refreshing = true;
    await this.serialize(async () => {
      try {
        if (!this.loaded) {
          await this.loadOrCreate();
          this.loaded = true;
          this.logger.log({ msg: 'alerts store loaded', store: this.store.location });
          return;
        }
        const changed = (await this.store.revision()) > this.document.revision;
        const stored = changed ? await this.read() : undefined;
        if (stored && stored.revision > this.document.revision) this.document = stored;
        this.lastRefreshProblem = undefined;
      } catch (error) {
        const problem = error instanceof Error ? error.message : String(error);
        if (problem !== this.lastRefreshProblem) this.logger.warn({ msg: 'alerts store refresh failed', problem });
        this.lastRefreshProblem = problem;
      } finally {
        this.refreshing = false;
      }
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.writes;
    await this.store.close();
  }

  get rules(): readonly AlertRule[] {
    return this.document.rules;
  }

  get channels(): readonly ChannelConfig[] {
    return this.document.channels;
  }

  channel(id: string): ChannelConfig {
    const channel = this.document.channels.find((candidate) => candidate.id === id);
    if (!channel) throw new NotFoundException(`no alert channel ${JSON.stringify(id)}`);
    return channel;
  }

  rule(id: string): AlertRule {
    const rule = this.document.rules.find((candidate) => candidate.id === id);
    if (!rule) throw new NotFoundException(`no alert rule ${JSON.stringify(id)}`);
    return rule;
  }

  /** The channel as responses show it: write-only secrets masked. */
  masked(channel: ChannelConfig): ChannelConfig {
    return this.kinds.get(channel.kind)?.mask(channel) ?? channel;
  }

  createChannel(body: unknown): Promise<ChannelConfig> {
    return this.change(async (document) => {
      const id = this.newId(body, document.channels);
      const channel = await channelFrom(id, body, this.kinds);
      return { document: { ...document, channels: [...document.channels, channel] }, result: channel };
    });
  }

  replaceChannel(id: string, body: unknown): Promise<ChannelConfig> {
    return this.change(async (document) => {
      const stored = this.find(document.channels, id, 'channel');
      this.checkSameId(body, id);
      const provider = this.kinds.get(stored.kind);
      const incoming =
        isObject(body) && body.kind === stored.kind && provider ? provider.keepSecrets(body, stored) : body;
      const channel = await channelFrom(id, incoming, this.kinds);
      const channels = document.channels.map((candidate) => (candidate.id === id ? channel : candidate));
      return { document: { ...document, channels }, result: channel };
    });
  }

  deleteChannel(id: string): Promise<void> {
    return this.change(async (document) => {
      this.find(document.channels, id, 'channel');
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
    return this.change(async (document) => {
      const rule = ruleFrom(this.newId(dto, document.rules), dto, document.channels);
      return { document: { ...document, rules: [...document.rules, rule] }, result: rule };
    });
  }

  replaceRule(id: string, dto: RuleDto): Promise<AlertRule> {
    return this.change(async (document) => {
      this.find(document.rules, id, 'rule');
      this.checkSameId(dto, id);
      const rule = ruleFrom(id, dto, document.channels);
      const rules = document.rules.map((candidate) => (candidate.id === id ? rule : candidate));
      return { document: { ...document, rules }, result: rule };
    });
  }

  deleteRule(id: string): Promise<void> {
    return this.change(async (document) => {
      this.find(document.rules, id, 'rule');
      return { document: { ...document, rules: document.rules.filter((rule) => rule.id !== id) }, result: undefined };
    });
  }

  /** Runs `edit` on the latest document once every earlier write is done, and stores its result. */
  private change<T>(edit: Edit<T>): Promise<T> {
    return this.serialize(async () => {
      for (let attempt = 1; ; attempt++) {
        const { document, result } = await edit(this.document);
        const next: AlertsDocument = { ...document, version: 1, revision: this.document.revision + 1 };
        try {
          await this.store.save(next);
          this.document = next;
          return result;
        } catch (error) {
          if (error instanceof StoreConflictError && attempt < CONFLICT_RETRIES) {
            await sleep(Math.random() * CONFLICT_PAUSE_MS * attempt);
            this.document = (await this.read()) ?? this.document;
            continue;
          }
          const reason = error instanceof Error ? error.message : String(error);
          throw new ServiceUnavailableException(`the alert configuration could not be saved: ${reason}`);
        }
      }
    });
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const result = this.writes.then(task);
    this.writes = result.catch(() => undefined);
    return result;
  }

  private async read(): Promise<AlertsDocument | undefined> {
    const raw = await this.store.load();
    if (raw === undefined) return undefined;
    try {
      return await parseDocument(raw, this.kinds);
    } catch (error) {
      if (!(error instanceof InvalidDocumentError)) throw error;
      throw new AlertsStoreError(`alerts store ${this.store.location} holds no valid configuration: ${error.message}`);
    }
  }

  private find<T extends { id: string }>(items: readonly T[], id: string, what: string): T {
    const item = items.find((candidate) => candidate.id === id);
    if (!item) throw new NotFoundException(`no alert ${what} ${JSON.stringify(id)}`);
    return item;
  }

  /** The id a create asked for (if free), else a new UUID. */
  private newId(body: unknown, existing: readonly { id: string }[]): string {
    const wanted = isObject(body) ? body.id : undefined;
    if (typeof wanted !== 'string') return randomUUID();
    if (existing.some((item) => item.id === wanted))
      throw new ConflictException(`the id ${JSON.stringify(wanted)} is taken`);
    return wanted;
  }

  /** A replace may carry the id a GET returned, but not another one. */
  private checkSameId(body: unknown, id: string): void {
    if (isObject(body) && body.id !== undefined && body.id !== id) {
      throw new BadRequestException([`id must be ${JSON.stringify(id)} (the id in the path) or left out`]);
    }
  }
}
