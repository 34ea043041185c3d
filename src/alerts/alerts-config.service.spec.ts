import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  ConflictException,
  ConsoleLogger,
  Logger,
  ServiceUnavailableException,
} from '@nestjs/common';
import { JsonLogger } from '../logging/json-logger.js';
import type { AlertsDocument } from './alert-model.js';
import { AlertsConfigService } from './alerts-config.service.js';
import { defaultDocument, parseDocument } from './alerts-document.js';
import { ChannelKinds } from './channels/channel-kinds.js';
import { EmailChannel } from './channels/email.channel.js';
import { LogChannel } from './channels/log.channel.js';
import { SlackChannel } from './channels/slack.channel.js';
import { WebhookChannel } from './channels/webhook.channel.js';
import type { RuleDto } from './dto/rule.dto.js';
import { DocumentStoreError, StoreConflictError } from '../store/document-store.js';
import { InvalidDocumentError } from '../store/validation.js';
import type { AlertsStore } from './store/alerts-store.js';

const kinds = new ChannelKinds([new SlackChannel(), new EmailChannel(), new WebhookChannel(), new LogChannel()]);

/** A shared store in memory with the Redis store's compare-and-set, a little slow so writes overlap. */
class SharedMemoryStore implements AlertsStore {
  readonly location = 'memory';
  readonly name = 'alerts store';
  readonly shared = true;
  stored: string | undefined;
  saves = 0;
  failing = false;

  async load(): Promise<unknown> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return this.stored === undefined ? undefined : JSON.parse(this.stored);
  }
  async revision(): Promise<number> {
    return this.stored === undefined ? 0 : (JSON.parse(this.stored) as AlertsDocument).revision;
  }
  async save(document: AlertsDocument): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.failing) throw new DocumentStoreError('alerts store memory cannot be written: disk full');
    const revision = this.stored === undefined ? 0 : (JSON.parse(this.stored) as AlertsDocument).revision;
    if (revision !== document.revision - 1) throw new StoreConflictError(`at ${revision}`);
    this.stored = JSON.stringify(document);
    this.saves++;
  }
  async close(): Promise<void> {}
}

const rule = (overrides: Partial<RuleDto> = {}): RuleDto => ({
  name: 'r',
  metric: 'active_connections',
  op: '>',
  threshold: 1,
  ...overrides,
});

describe('AlertsConfigService', () => {
  beforeAll(() => Logger.overrideLogger(new JsonLogger('error', () => undefined)));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('writes the defaults on the first start and loads what is stored afterwards', async () => {
    const store = new SharedMemoryStore();
    const first = new AlertsConfigService(store, kinds);
    await first.load();
    expect(JSON.parse(store.stored as string)).toEqual(defaultDocument());
    await first.createRule(rule({ id: 'mine' }));
    const second = new AlertsConfigService(store, kinds);
    await second.load();
    expect(second.rules.map((r) => r.id)).toEqual([...defaultDocument().rules.map((r) => r.id), 'mine']);
  });

  it('loses no update when two instances write the same shared store at once', async () => {
    const store = new SharedMemoryStore();
    const a = new AlertsConfigService(store, kinds);
    const b = new AlertsConfigService(store, kinds);
    await a.load();
    await b.load();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).createChannel({ name: `c${i}`, kind: 'log' })),
    );
    const stored = JSON.parse(store.stored as string) as AlertsDocument;
    expect(stored.channels.map((c) => c.name).sort()).toEqual(
      ['Herald log', ...Array.from({ length: 20 }, (_, i) => `c${i}`)].sort(),
    );
    expect(stored.revision).toBe(21);
    await a.refresh();
    await b.refresh();
    expect(a.channels).toHaveLength(21);
    expect(b.channels).toHaveLength(21);
  });

  it('changes nothing in memory when the store cannot be written, and says so with a 503', async () => {
    const store = new SharedMemoryStore();
    const service = new AlertsConfigService(store, kinds);
    await service.load();
    store.failing = true;
    const failed = service.createChannel({ name: 'x', kind: 'log' });
    await expect(failed).rejects.toThrow(ServiceUnavailableException);
    await expect(failed).rejects.toThrow('disk full');
    expect(service.channels).toHaveLength(1);
    store.failing = false;
    await service.createChannel({ name: 'y', kind: 'log' });
    expect(service.channels.map((c) => c.name)).toEqual(['Herald log', 'y']);
  });

  it('keeps the write queue going after a rejected request', async () => {
    const service = new AlertsConfigService(new SharedMemoryStore(), kinds);
    await service.load();
    const results = await Promise.allSettled([
      service.createChannel({ name: 'ok-1', kind: 'log' }),
      service.createChannel({ name: 'bad', kind: 'pager' }),
      service.createChannel({ name: 'taken', kind: 'log', id: 'log' }),
      service.createChannel({ name: 'ok-2', kind: 'log' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(BadRequestException);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictException);
    expect(service.channels.map((c) => c.name)).toEqual(['Herald log', 'ok-1', 'ok-2']);
  });

  it('refuses a replace whose body names another id', async () => {
    const service = new AlertsConfigService(new SharedMemoryStore(), kinds);
    await service.load();
    await expect(service.replaceRule('capacity-high', rule({ id: 'other' }))).rejects.toThrow(BadRequestException);
  });
});

describe('parseDocument', () => {
  const valid = defaultDocument();

  it('accepts the defaults as they are', async () => {
    expect(await parseDocument(JSON.parse(JSON.stringify(valid)), kinds)).toEqual(valid);
  });

  it.each([
    ['not an object', [], 'it is not a JSON object'],
    ['another version', { ...valid, version: 2 }, 'version must be 1'],
    ['no rules list', { ...valid, rules: {} }, 'rules must be a list'],
    ['a channel without id', { ...valid, channels: [{ name: 'x', kind: 'log' }] }, 'channels[0].id is missing'],
    [
      'a channel id used twice',
      { ...valid, channels: [valid.channels[0], valid.channels[0]] },
      'channels[1].id "log" is used twice',
    ],
    [
      'a channel of an unknown kind',
      { ...valid, channels: [{ ...valid.channels[0], kind: 'fax' }] },
      'channels[0]: kind must be one of',
    ],
    ['a rule on an unknown metric', { ...valid, rules: [{ ...valid.rules[0], metric: 'x' }] }, 'rules[0]: metric'],
    ['a rule that uses a missing channel', { ...valid, channels: [] }, 'rules[0]: channels[0] is no channel: "log"'],
  ])('rejects %s, naming where', async (_what, raw, message) => {
    const parsing = parseDocument(raw, kinds);
    await expect(parsing).rejects.toThrow(InvalidDocumentError);
    await expect(parsing).rejects.toThrow(message);
  });
});
