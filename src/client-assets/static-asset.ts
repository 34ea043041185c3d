import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export interface AssetBody {
  body: Buffer;
  /** Strong validator: a hash of the bytes. */
  etag: string;
  lastModified: string;
}

/**
 * One file served as it is on disk, read once and again only when its size
 * or mtime changes (a rebuild while Herald runs), with an ETag of its bytes.
 */
export class StaticAsset {
  private cached: (AssetBody & { mtimeMs: number; size: number }) | undefined;

  constructor(
    readonly path: string,
    readonly contentType: string,
    readonly cacheControl: string,
  ) {}

  /** The current bytes, or undefined when the file does not exist (not built). */
  read(): AssetBody | undefined {
    let stat;
    try {
      stat = statSync(this.path);
    } catch {
      this.cached = undefined;
      return undefined;
    }
    if (!this.cached || this.cached.mtimeMs !== stat.mtimeMs || this.cached.size !== stat.size) {
      const body = readFileSync(this.path);
      this.cached = {
        body,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        lastModified: stat.mtime.toUTCString(),
        mtimeMs: stat.mtimeMs,
        size: stat.size,
      };
    }
    return this.cached;
  }
}

/** Whether an `If-None-Match` header matches `etag` (weak comparison, RFC 9110 §13.1.2). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}
