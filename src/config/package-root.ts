import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding Herald's package.json (and public/): this module sits
 * in `src/config/` in development and tests, `dist/src/config/` once built,
 * both under it. The one place that walks up to find it.
 */
export function findPackageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
  return dir;
}

/** `findPackageRoot()`, for callers that cannot work without it. */
export function packageRoot(): string {
  const root = findPackageRoot();
  if (root === undefined) throw new Error('package.json not found above this module');
  return root;
}

/** package.json's version, or 0.0.0 when there is none. */
export function packageVersion(): string {
  const root = findPackageRoot();
  if (root === undefined) return '0.0.0';
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
