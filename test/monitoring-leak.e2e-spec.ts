import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HeraldStatus } from '../src/monitoring/status.js';
import { RawSseClient } from './support/raw-sse.js';
import { ADMIN_TOKEN, PUBLISH_TOKEN, eventually, request, sleep } from './support/herald.js';

const WINDOW_MS = 6_000;
const SNAPSHOT_MS = 200;
/**
 * Both processes first serve the load without leaking until they are warm: warm-up growth (JIT code,
 * pools, history filling) is real growth that a 6-s window can read as a leak (the production window is
 * 10 minutes). Warm means: at least this long and this many requests, and no suspicion on either for a
 * few polls in a row — measured in work done, so a starved machine only makes the warm-up longer.
 */
// Two whole windows, so the window the verdict is read over no longer holds warm-up samples.
const WARMUP_MIN_MS = 2 * WINDOW_MS;
const WARMUP_MIN_REQUESTS = 200;
const WARMUP_MAX_MS = 40_000;
/** Then the leaky one leaks, and both are watched for a window and a second more. */
const WATCH_MS = WINDOW_MS + 1_000;
/** The fixture keeps an array of 8,192 numbers (64 KB) per request while leaking. */
const LEAKED_BYTES = 65_536;
const FIXTURE = fileURLToPath(new URL('./monitoring-leak.fixture.mjs', import.meta.url));
const DIST = process.env.HERALD_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url));

interface Watched {
  name: string;
  child: ChildProcess;
  url: string;
  /** /status leak verdicts seen while watched (for the log line). */
  verdicts: { afterMs: number; leak: HeraldStatus['memory']['leak'] }[];
  requests: number;
  retained: number;
  /** Server clock: when the leak was switched on (0: never). */
  leakStartedAt: number;
  /** Suspicions begun by the end of the warm-up, and whether one was on then. */
  suspicionsAfterWarmup?: number;
  suspectedAfterWarmup?: boolean;
  status?: HeraldStatus;
  metrics?: string;
}

/** The built Herald plus the test-only leaky module, in its own process (its heap is its own). */
async function spawnLeaky(name: string, leaky: boolean): Promise<Watched> {
  // --expose-gc: the fixture runs a full collection every 250 ms, so this 6-s window spans many of them,
  // as the default 10-minute window does in production (see the fixture).
  const child = spawn(process.execPath, ['--expose-gc', FIXTURE], {
    env: {
      PATH: process.env.PATH ?? '',
      HERALD_DIST: DIST.endsWith('/') ? DIST : `${DIST}/`,
      ADMIN_TOKEN,
      PUBLISH_TOKEN,
      LOG_LEVEL: 'warn',
      SNAPSHOT_INTERVAL_MS: String(SNAPSHOT_MS),
      LEAK_WINDOW_MS: String(WINDOW_MS),
      LEAKY: leaky ? '1' : '0',
      FULL_GC_EVERY_MS: '250',
      HISTORY_SIZE: '50',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  let exited: number | null | undefined;
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('exit', (code) => (exited = code));
  const port = await eventually(
    () => {
      if (exited !== undefined) throw new Error(`${name} exited with ${exited} before listening:\n${output}`);
      return /"msg":"leaky herald listening","port":(\d+)/.exec(output)?.[1];
    },
    30_000,
    `${name} listening`,
  );
  return { name, child, url: `http://127.0.0.1:${port}`, verdicts: [], requests: 0, retained: 0, leakStartedAt: 0 };
}

/** 4 workers on the leaky endpoint, a publisher and 10 live streams, until `stop()`. */
function load(target: Watched): { stop: () => Promise<void> } {
  let running = true;
  const streams = Array.from({ length: 10 }, () => new RawSseClient(`${target.url}/v1/events?topic=load`));
  const worker = async (): Promise<void> => {
    while (running) {
      const answer = await request<{ requests: number; retained: number }>(`${target.url}/test/leaky`, {
        method: 'POST',
      });
      target.requests = Math.max(target.requests, answer.body.requests);
      target.retained = Math.max(target.retained, answer.body.retained);
      await sleep(2);
    }
  };
  const publisher = async (): Promise<void> => {
    for (let i = 0; running; i++) {
      await request(`${target.url}/v1/topics/load/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
        json: { data: { i, pad: 'p'.repeat(512) } },
      });
      await sleep(20);
    }
  };
  const loops = [...Array.from({ length: 4 }, worker), publisher()];
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      for (const stream of streams) stream.close();
    },
  };
}

const leakOf = async (target: Watched): Promise<HeraldStatus['memory']['leak']> =>
  (await request<HeraldStatus>(`${target.url}/status`)).body.memory.leak;
const suspicions = (metrics: string): number =>
  Number(/^herald_memory_leak_suspicions_total (\d+)$/m.exec(metrics)?.[1] ?? NaN);

/** Waits until both are warm (see WARMUP_MIN_MS); gives up, and lets the assertions say so, at the cap. */
async function warmUp(targets: Watched[]): Promise<number> {
  const startedAt = Date.now();
  let quietPolls = 0;
  while (Date.now() - startedAt < WARMUP_MAX_MS) {
    await sleep(500);
    const leaks = await Promise.all(targets.map(leakOf));
    quietPolls = leaks.some((leak) => leak.suspected) ? 0 : quietPolls + 1;
    const busyEnough = targets.every((target) => target.requests >= WARMUP_MIN_REQUESTS);
    if (Date.now() - startedAt >= WARMUP_MIN_MS && busyEnough && quietPolls >= 3) break;
  }
  for (const target of targets) {
    const metrics = (await request<string>(`${target.url}/metrics`)).body;
    target.suspicionsAfterWarmup = suspicions(metrics);
    target.suspectedAfterWarmup = /^herald_memory_leak_suspected 1$/m.test(metrics);
  }
  return Date.now() - startedAt;
}

async function watch(target: Watched, until: number): Promise<void> {
  const startedAt = Date.now();
  while (Date.now() < until) {
    await sleep(1_000);
    target.verdicts.push({ afterMs: Date.now() - startedAt, leak: await leakOf(target) });
  }
}

const summary = (target: Watched): string =>
  `${target.name}: ${target.requests} requests, ${((target.retained * LEAKED_BYTES) / 1_048_576).toFixed(1)} MB kept; ` +
  target.verdicts
    .map(
      ({ afterMs, leak }) =>
        `${(afterMs / 1000).toFixed(1)}s ${leak.suspected ? 'LEAK' : 'ok'} ${leak.slopeMbPerMinute.toFixed(1)}MB/min r²=${leak.fit.toFixed(2)} ${leak.basis}`,
    )
    .join(' | ');

const builtApp = existsSync(`${DIST}/src/app.module.js`);

describe(`Leak detection on real processes under the same load (window ${WINDOW_MS} ms, snapshots every ${SNAPSHOT_MS} ms)`, () => {
  let healthy: Watched;
  let leaking: Watched;
  let leakingForMs = 0;

  beforeAll(
    async () => {
      if (!builtApp) throw new Error(`no built app at ${DIST} (run npm run build, or set HERALD_DIST)`);
      [healthy, leaking] = await Promise.all([spawnLeaky('no leak', false), spawnLeaky('leak', true)]);
      const loads = [load(healthy), load(leaking)];
      const warmupMs = await warmUp([healthy, leaking]);
      const switched = await request<{ leaking: boolean; leakStartedAt: number }>(`${leaking.url}/test/leaky/start`, {
        method: 'POST',
      });
      expect(switched.body.leaking).toBe(true);
      leaking.leakStartedAt = switched.body.leakStartedAt;
      const startedAt = Date.now();
      await Promise.all([watch(healthy, startedAt + WATCH_MS), watch(leaking, startedAt + WATCH_MS)]);
      leakingForMs = Date.now() - startedAt;
      for (const target of [healthy, leaking]) {
        target.status = (await request<HeraldStatus>(`${target.url}/status`)).body;
        target.metrics = (await request<string>(`${target.url}/metrics`)).body;
      }
      await Promise.all(loads.map((running) => running.stop()));
      process.stdout.write(`warm after ${warmupMs} ms\n${summary(healthy)}\n${summary(leaking)}\n`);
    },
    WARMUP_MAX_MS + WATCH_MS + 40_000,
  );

  afterAll(() => {
    healthy?.child.kill('SIGKILL');
    leaking?.child.kill('SIGKILL');
  });

  it('the same load without the leak is not flagged once warm', () => {
    expect(healthy.requests).toBeGreaterThan(WARMUP_MIN_REQUESTS);
    expect(healthy.retained).toBe(0);
    expect(healthy.suspectedAfterWarmup).toBe(false);
    // Judged on heap floors read right after full collections, not on raw samples.
    expect(healthy.status?.memory.leak.basis).toBe('collections');
    expect(healthy.status?.memory.leak.suspected).toBe(false);
    expect(healthy.status?.memory.leak.suspectedSince).toBeNull();
    expect(healthy.metrics).toMatch(/^herald_memory_leak_suspected 0$/m);
    // Not one suspicion began while watched, not just none at the end.
    expect(suspicions(healthy.metrics ?? '')).toBe(healthy.suspicionsAfterWarmup);
  });

  it('a module that leaks per request is flagged within the configured window, in /status and /metrics', () => {
    expect(leaking.suspectedAfterWarmup).toBe(false);
    expect(leaking.retained).toBeGreaterThan(30);
    const leak = leaking.status?.memory.leak;
    expect(leak?.basis).toBe('collections');
    expect(leak?.suspected).toBe(true);
    // Server clock on both sides: from the switch to the snapshot that began the suspicion.
    const flaggedAfterMs = Date.parse(leak?.suspectedSince ?? '') - leaking.leakStartedAt;
    process.stdout.write(`leak flagged ${flaggedAfterMs} ms after it began (window ${WINDOW_MS} ms)\n`);
    expect(flaggedAfterMs).toBeGreaterThan(0);
    expect(flaggedAfterMs).toBeLessThanOrEqual(WINDOW_MS + SNAPSHOT_MS);
    // Flagged once, and it stayed flagged while the leak went on.
    expect(suspicions(leaking.metrics ?? '')).toBe((leaking.suspicionsAfterWarmup ?? NaN) + 1);
    expect(leaking.metrics).toMatch(/^herald_memory_leak_suspected 1$/m);
    expect(leak?.confidence).toBeGreaterThan(0.5);
    // The slope is the leak's own rate, not noise: within a factor of 3 of what was kept per second.
    const keptPerSecond = (leaking.retained * LEAKED_BYTES) / (leakingForMs / 1000);
    expect(leak?.slopeBytesPerSecond).toBeGreaterThan(keptPerSecond / 3);
    expect(leak?.slopeBytesPerSecond).toBeLessThan(keptPerSecond * 3);
  });
});
