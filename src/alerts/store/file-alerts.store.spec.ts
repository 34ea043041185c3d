import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertsDocument } from '../alert-model.js';
import { AlertsStoreError } from './alerts-store.js';
import { FileAlertsStore } from './file-alerts.store.js';

function documentWith(channels: number, revision = 1): AlertsDocument {
  return {
    version: 1,
    revision,
    channels: Array.from({ length: channels }, (_, i) => ({
      id: `c${i}`,
      name: `channel ${i} ${'x'.repeat(200)}`,
      kind: 'log',
      enabled: true,
    })),
    rules: [],
  };
}

describe('FileAlertsStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-file-store-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('has nothing before the first save, then reads back what it saved', async () => {
    const store = new FileAlertsStore(join(dir, 'a', 'b', 'alerts.json'));
    expect(await store.load()).toBeUndefined();
    await store.save(documentWith(2));
    expect(await store.load()).toEqual(documentWith(2));
    expect(store.location).toBe(`file ${join(dir, 'a', 'b', 'alerts.json')}`);
  });

  it('writes the file readable by its owner only, and leaves no temporary file behind', async () => {
    const path = join(dir, 'alerts.json');
    const store = new FileAlertsStore(path);
    await store.save(documentWith(1));
    await store.save(documentWith(3, 2));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['alerts.json']);
  });

  it('never shows a reader a half-written file while it is being replaced', async () => {
    const path = join(dir, 'alerts.json');
    const store = new FileAlertsStore(path);
    await store.save(documentWith(400, 1));
    let writing = true;
    const reads: Array<Promise<number>> = [];
    const reader = (async () => {
      while (writing) {
        reads.push(readFile(path, 'utf8').then((text) => (JSON.parse(text) as AlertsDocument).channels.length));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let revision = 2; revision <= 40; revision++)
      await store.save(documentWith(revision % 2 ? 400 : 10, revision));
    writing = false;
    await reader;
    const sizes = await Promise.all(reads);
    expect(sizes.length).toBeGreaterThan(10);
    for (const size of sizes) expect([10, 400]).toContain(size);
  });

  it('names the file when it is not valid JSON (cut short), and when it cannot be read', async () => {
    const path = join(dir, 'alerts.json');
    await writeFile(path, JSON.stringify(documentWith(2)).slice(0, 60));
    const store = new FileAlertsStore(path);
    await expect(store.load()).rejects.toThrow(AlertsStoreError);
    await expect(store.load()).rejects.toThrow(`alerts store ${path} is not valid JSON`);

    const directory = join(dir, 'is-a-directory');
    await mkdir(directory);
    await expect(new FileAlertsStore(directory).load()).rejects.toThrow(`alerts store ${directory} cannot be read`);
  });

  it('keeps the previous file and cleans up when a write fails', async () => {
    const path = join(dir, 'alerts.json');
    await mkdir(path);
    await writeFile(join(path, 'occupant'), 'the path is a non-empty directory, so the rename must fail');
    const store = new FileAlertsStore(path);
    await expect(store.save(documentWith(1))).rejects.toThrow(`alerts store ${path} cannot be written`);
    expect((await readdir(dir)).sort()).toEqual(['alerts.json']);
    expect(await readdir(path)).toEqual(['occupant']);
  });
});
