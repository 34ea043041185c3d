import { describe, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** In CI (`.ci/run`) every outside service is mandatory: a missing one fails instead of skipping. */
export const servicesRequired = process.env.HERALD_REQUIRE_SERVICES === '1';

/**
 * `describe` when `available` is true; otherwise a visible skip with the
 * reason (or, when services are required, a failing suite that says why).
 */
export function describeWith(available: boolean, reason: string): typeof describe {
  if (available) return describe;
  if (servicesRequired) {
    return ((name: string) =>
      describe(name, () => {
        it(`needs: ${reason}`, () => {
          throw new Error(`required service missing in CI: ${reason}`);
        });
      })) as unknown as typeof describe;
  }
  process.stderr.write(`\n[herald tests] SKIPPED: ${reason}\n`);
  return describe.skip as typeof describe;
}

/** The path of a command on PATH, or undefined. */
export function which(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const CHROMIUM_PATH = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

/** Flags for headless Chromium on this closed network (see the env notes). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether Redis answers PING at REDIS_URL within a second. */
export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
