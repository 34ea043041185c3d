import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etagMatches, StaticAsset } from './static-asset.js';

describe('StaticAsset', () => {
  it('serves the bytes with a content ETag, re-reading only after the file changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-asset-'));
    try {
      const path = join(dir, 'a.js');
      const asset = new StaticAsset(path, 'text/javascript', 'no-cache');
      expect(asset.read()).toBeUndefined();
      writeFileSync(path, 'export const a = 1;\n');
      const first = asset.read()!;
      expect(first.body.toString()).toBe('export const a = 1;\n');
      expect(first.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect(asset.read()).toBe(first);
      writeFileSync(path, 'export const a = 2;\n');
      utimesSync(path, new Date(), new Date(Date.now() + 5_000));
      const second = asset.read()!;
      expect(second.body.toString()).toBe('export const a = 2;\n');
      expect(second.etag).not.toBe(first.etag);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('etagMatches', () => {
  it.each([
    ['"abc"', '"abc"', true],
    ['W/"abc"', '"abc"', true],
    ['"x", "abc"', '"abc"', true],
    ['*', '"abc"', true],
    ['"abd"', '"abc"', false],
    ['abc', '"abc"', false],
    [undefined, '"abc"', false],
  ])('%j against %j is %j', (header, etag, expected) => {
    expect(etagMatches(header, etag)).toBe(expected);
  });
});
