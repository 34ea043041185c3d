import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocumentStoreError } from './document-store.js';
import { FileDocumentStore } from './file-document.store.js';

interface ItemsDocument {
  revision: number;
  items: { id: string; name: string }[];
}

function documentWith(items: number, revision = 1): ItemsDocument {
  return {
    revision,
    items: Array.from({ length: items }, (_, i) => ({ id: `c${i}`, name: `item ${i} ${'x'.repeat(200)}` })),
  };
}

const fileStore = (path: string) => new FileDocumentStore<ItemsDocument>('items store', path);

describe('FileDocumentStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-file-store-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('has nothing before the first save, then reads back what it saved', async () => {
    const store = fileStore(join(dir, 'a', 'b', 'items.json'));
    expect(await store.load()).toBeUndefined();
    await store.save(documentWith(2));
    expect(await store.load()).toEqual(documentWith(2));
    expect(store.location).toBe(`file ${join(dir, 'a', 'b', 'items.json')}`);
  });

  it('writes the file readable by its owner only, and leaves no temporary file behind', async () => {
    const path = join(dir, 'items.json');
    const store = fileStore(path);
    await store.save(documentWith(1));
    await store.save(documentWith(3, 2));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['items.json']);
  });

  it('never shows a reader a half-written file while it is being replaced', async () => {
    const path = join(dir, 'items.json');
    const store = fileStore(path);
    await store.save(documentWith(400, 1));
    let writing = true;
    const reads: Array<Promise<number>> = [];
    const reader = (async () => {
      while (writing) {
        reads.push(readFile(path, 'utf8').then((text) => (JSON.parse(text) as ItemsDocument).items.length));
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
    const path = join(dir, 'items.json');
    await writeFile(path, JSON.stringify(documentWith(2)).slice(0, 60));
    const store = fileStore(path);
    await expect(store.load()).rejects.toThrow(DocumentStoreError);
    await expect(store.load()).rejects.toThrow(`items store ${path} is not valid JSON`);

    const directory = join(dir, 'is-a-directory');
    await mkdir(directory);
    await expect(fileStore(directory).load()).rejects.toThrow(`items store ${directory} cannot be read`);
  });

  it('keeps the previous file and cleans up when a write fails', async () => {
    const path = join(dir, 'items.json');
    await mkdir(path);
    await writeFile(join(path, 'occupant'), 'the path is a non-empty directory, so the rename must fail');
    const store = fileStore(path);
    await expect(store.save(documentWith(1))).rejects.toThrow(`items store ${path} cannot be written`);
    expect((await readdir(dir)).sort()).toEqual(['items.json']);
    expect(await readdir(path)).toEqual(['occupant']);
  });
});
