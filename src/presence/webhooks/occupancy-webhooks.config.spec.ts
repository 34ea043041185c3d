import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConflictException, ConsoleLogger, Logger, NotFoundException } from '@nestjs/common';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/herald-config.js';
import { JsonLogger } from '../../logging/json-logger.js';
import { FileDocumentStore } from '../../store/file-document.store.js';
import { InvalidDocumentError } from '../../store/validation.js';
import type { OccupancyWebhooksDocument } from './occupancy-webhook.dto.js';
import { OccupancyWebhooksConfig, parseWebhooksDocument } from './occupancy-webhooks.config.js';

describe('parseWebhooksDocument', () => {
  const valid = {
    version: 1,
    revision: 3,
    webhooks: [{ id: 'a', url: 'https://a.example/hook', secret: 's3cret', prefix: 'rooms/' }],
  };

  it('accepts a valid document as it is, and fills in an empty prefix', async () => {
    expect(await parseWebhooksDocument(valid)).toEqual(valid);
    const bare = { ...valid, webhooks: [{ id: 'b', url: 'http://b.example/' }] };
    expect((await parseWebhooksDocument(bare)).webhooks).toEqual([{ id: 'b', url: 'http://b.example/', prefix: '' }]);
  });

  it.each([
    ['not an object', [], 'it is not a JSON object'],
    ['another version', { ...valid, version: 2 }, 'version must be 1'],
    ['a negative revision', { ...valid, revision: -1 }, 'revision must be a whole number'],
    ['no list', { ...valid, webhooks: {} }, 'webhooks must be a list'],
    ['no id', { ...valid, webhooks: [{ url: 'https://a.example/' }] }, 'webhooks[0].id is missing or malformed'],
    ['an id used twice', { ...valid, webhooks: [valid.webhooks[0], valid.webhooks[0]] }, 'webhooks[1].id "a" is used'],
    ['a URL of another scheme', { ...valid, webhooks: [{ id: 'a', url: 'ftp://a/' }] }, 'webhooks[0]: url must be'],
    [
      'a prefix outside the topic characters',
      { ...valid, webhooks: [{ id: 'a', url: 'https://a.example/', prefix: 'rooms 1' }] },
      'webhooks[0]: prefix must be 0-256 characters',
    ],
    [
      'a field Herald does not know',
      { ...valid, webhooks: [{ id: 'a', url: 'https://a.example/', events: ['occupied'] }] },
      'webhooks[0]: property events should not exist',
    ],
  ])('rejects %s, naming where', async (_what, raw, message) => {
    const parsing = parseWebhooksDocument(raw);
    await expect(parsing).rejects.toThrow(InvalidDocumentError);
    await expect(parsing).rejects.toThrow(message);
  });
});

describe('OccupancyWebhooksConfig', () => {
  let dir: string;
  beforeAll(async () => {
    Logger.overrideLogger(new JsonLogger('error', () => undefined));
    dir = await mkdtemp(join(tmpdir(), 'herald-occupancy-webhooks-'));
  });
  afterAll(async () => {
    Logger.overrideLogger(new ConsoleLogger());
    await rm(dir, { recursive: true, force: true });
  });

  async function service(path: string): Promise<OccupancyWebhooksConfig> {
    const store = new FileDocumentStore<OccupancyWebhooksDocument>('occupancy webhooks store', path);
    const configs = new OccupancyWebhooksConfig(store, loadConfig({}));
    await configs.onModuleInit();
    return configs;
  }

  it('masks the secret, keeps it when left out or sent back masked, removes it on null; all of it stored', async () => {
    const path = join(dir, 'secrets.json');
    const configs = await service(path);
    // Nothing is written before the first webhook.
    await expect(readFile(path, 'utf8')).rejects.toThrow('ENOENT');
    const created = await configs.create({ id: 'w', url: 'https://a.example/', secret: 'shared-secret' });
    expect(configs.masked(created)).toEqual({ id: 'w', url: 'https://a.example/', secret: '********', prefix: '' });
    await configs.replace('w', { ...configs.masked(created), prefix: 'rooms/' });
    expect(configs.webhook('w')).toEqual({
      id: 'w',
      url: 'https://a.example/',
      secret: 'shared-secret',
      prefix: 'rooms/',
    });
    await configs.replace('w', { url: 'https://b.example/' });
    expect(configs.webhook('w').secret).toBe('shared-secret');
    await configs.replace('w', { url: 'https://b.example/', secret: 'rotated-secret' });
    expect(configs.webhook('w').secret).toBe('rotated-secret');
    await configs.replace('w', { url: 'https://b.example/', secret: null });
    expect(configs.masked(configs.webhook('w'))).toEqual({ id: 'w', url: 'https://b.example/', prefix: '' });
    const stored = JSON.parse(await readFile(path, 'utf8')) as OccupancyWebhooksDocument;
    expect(stored).toEqual({ version: 1, revision: 5, webhooks: [configs.webhook('w')] });
    await configs.onModuleDestroy();
    expect((await service(path)).webhooks).toEqual([configs.webhook('w')]);
  });

  it('404 for an unknown id, 409 for a taken one, 400 for a replace naming another id', async () => {
    const configs = await service(join(dir, 'ids.json'));
    await configs.create({ id: 'w', url: 'https://a.example/' });
    await expect(configs.create({ id: 'w', url: 'https://a.example/' })).rejects.toThrow(ConflictException);
    await expect(configs.replace('nope', { url: 'https://a.example/' })).rejects.toThrow(NotFoundException);
    await expect(configs.remove('nope')).rejects.toThrow('no occupancy webhook "nope"');
    await expect(configs.replace('w', { id: 'x', url: 'https://a.example/' })).rejects.toMatchObject({
      response: { message: ['id must be "w" (the id in the path) or left out'] },
    });
    const made = await configs.create({ url: 'https://c.example/' });
    expect(made.id).toMatch(/^[0-9a-f-]{36}$/);
    await configs.remove('w');
    expect(configs.webhooks.map((webhook) => webhook.id)).toEqual([made.id]);
  });
});
