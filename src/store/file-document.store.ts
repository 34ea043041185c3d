import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DocumentStoreError, reason, type DocumentStore, type Revisioned } from './document-store.js';

/**
 * One JSON file, replaced atomically: the new content goes to a temporary file
 * in the same directory, is fsynced, then renamed over the old one (and the
 * directory fsynced), so a crash at any point leaves the old or the new file,
 * never a mix.
 */
export class FileDocumentStore<D extends Revisioned> implements DocumentStore<D> {
  readonly shared = false;
  readonly path: string;

  constructor(
    readonly name: string,
    path: string,
  ) {
    this.path = resolve(path);
  }

  get location(): string {
    return `file ${this.path}`;
  }

  async load(): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DocumentStoreError(`${this.name} ${this.path} cannot be read: ${reason(error)}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new DocumentStoreError(
        `${this.name} ${this.path} is not valid JSON (${reason(error)}); it may have been cut short. ` +
          'Fix it, restore a backup, or move it away to start over with the defaults',
      );
    }
  }

  /** Only this process writes the file, so it is never re-read; the revision is in the document. */
  async revision(): Promise<number> {
    const document = (await this.load()) as Partial<Revisioned> | undefined;
    return typeof document?.revision === 'number' ? document.revision : 0;
  }

  async save(document: D): Promise<void> {
    const temporary = `${this.path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const file = await open(temporary, 'w', 0o600);
      try {
        await file.writeFile(JSON.stringify(document, null, 2) + '\n');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path);
      await this.syncDirectory();
    } catch (error) {
      await rm(temporary, { force: true });
      throw new DocumentStoreError(`${this.name} ${this.path} cannot be written: ${reason(error)}`);
    }
  }

  async close(): Promise<void> {}

  /** Makes the rename itself durable; some platforms cannot fsync a directory, which is fine there. */
  private async syncDirectory(): Promise<void> {
    let directory;
    try {
      directory = await open(dirname(this.path), 'r');
      await directory.sync();
    } catch {
      return;
    } finally {
      await directory?.close();
    }
  }
}
