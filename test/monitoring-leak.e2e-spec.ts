import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlertHistoryEntry } from '../src/alerts/alert-history.js';
import type { HeraldStatus } from '../src/monitoring/status.js';
import { RawSseClient } from './support/raw-sse.js';
import { ADMIN_TOKEN, PUBLISH_TOKEN, eventually, request, sleep } from './support/herald.js';

/** A short window so four scenarios fit in well under a minute; each runs in its own process, all at once. */
const WINDOW_MS = 4_000;
const SNAPSHOT_MS = 100;
const FIXTURE = fileURLToPath(new URL('./monitoring-leak.fixture.mjs', import.meta.url));
const DIST = process.env.HERALD_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url));
const TOPICS = 1_000;
const HISTORY_SIZE = 10;
const STREAMS = 2_000;
const IPS = 20;
/** Bytes the fixture keeps per subscribe request while leaking. */
const LEAK_BYTES = 51_200;

type Leak = HeraldStatus['memory']['leak'];

interface Watched {
  name: string;
  child: ChildProcess;
  url: string;
  /** Every /status verdict seen, with the server's snapshot time. */
  verdicts: { at: number; leak: Leak; active: number; historyEvents: number }[];
  stopWatching: () => Promise<void>;
}

const stateDir = mkdtempSync(join(tmpdir(), 'herald-leak-'));

/** The built Herald plus the test-only leaky module, in its own process (its heap is its own). */
async function spawnHerald(name: string, env: Record<string, string> = {}): Promise<Watched> {
  // --expose-gc: the fixture runs a full collection every 400 ms, so a 5-s window spans many of them,
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
      FULL_GC_EVERY_MS: '400',
      ALERTS_STORE_PATH: join(stateDir, `${name}.json`),
      LEAK_BYTES_PER_CONNECT: String(LEAK_BYTES),
      ...env,
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
  const watched: Watched = { name, child, url: `http://127.0.0.1:${port}`, verdicts: [], stopWatching: async () => {} };
  let watching = true;
  const loop = (async () => {
    while (watching && exited === undefined) {
      const answer = await request<HeraldStatus>(`${watched.url}/status`).catch(() => undefined);
      if (answer === undefined) break;
      const { body } = answer;
      watched.verdicts.push({
        at: Date.parse(body.at),
        leak: body.memory.leak,
        active: body.connections.active,
        historyEvents: body.throughput.historyEvents,
      });
      await sleep(250);
    }
  })();
  watched.stopWatching = async () => {
    watching = false;
    await loop;
  };
  return watched;
}

const latest = (target: Watched): Leak | undefined => target.verdicts.at(-1)?.leak;
const warm = (target: Watched): Promise<true> =>
  eventually(() => latest(target) !== undefined && latest(target)?.phase !== 'warm-up', 3 * WINDOW_MS, 'warm-up end');
const scrape = async (target: Watched): Promise<string> => (await request<string>(`${target.url}/metrics`)).body;
const suspicions = (metrics: string): number =>
  Number(/^herald_memory_leak_suspicions_total (\d+)$/m.exec(metrics)?.[1] ?? NaN);
const judged = (target: Watched): Watched['verdicts'] =>
  target.verdicts.filter((verdict) => verdict.leak.phase !== 'warm-up');
const summary = (target: Watched): string => {
  const phases = new Map<string, number>();
  for (const { leak } of target.verdicts) phases.set(leak.phase, (phases.get(leak.phase) ?? 0) + 1);
  const steepest = Math.max(...target.verdicts.map(({ leak }) => leak.slopeMbPerMinute));
  return `${target.name}: ${target.verdicts.length} verdicts ${JSON.stringify(Object.fromEntries(phases))}, steepest unexplained ${steepest.toFixed(1)} MB/min`;
};

/** Connect/disconnect cycles from 4 loops until `stop()` (each cycle waits for the stream's first bytes). */
function churn(target: Watched): { cycles: () => number; stop: () => Promise<void> } {
  let running = true;
  let cycles = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      const client = new RawSseClient(`${target.url}/v1/events?topic=churn`);
      await eventually(() => client.retries.length > 0 || client.closed, 10_000, 'stream open');
      client.socket.destroy();
      cycles++;
      await sleep(10);
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  return {
    cycles: () => cycles,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function idleScenario(target: Watched): Promise<void> {
  // The warm-up window plus three judged windows, with nothing but the watcher's own /status polls.
  await eventually(
    () => judged(target).some(({ at }) => at >= (judged(target)[0]?.at ?? Infinity) + 3 * WINDOW_MS),
    8 * WINDOW_MS,
    'three judged windows',
  );
}

async function historyScenario(target: Watched): Promise<void> {
  await warm(target);
  // One event per topic per batch, a batch every 250 ms at most: full after HISTORY_SIZE batches, then
  // the same for 2 windows more, each event replacing its topic's oldest.
  let fullAt = Infinity;
  for (let batch = 0; Date.now() < fullAt + 2 * WINDOW_MS; batch++) {
    const started = Date.now();
    // In requests of 200 events: the fixture app keeps Nest's default 100-KB body limit.
    const answers = await Promise.all(
      Array.from({ length: TOPICS / 200 }, (_, part) =>
        request(`${target.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${PUBLISH_TOKEN}` },
          json: Array.from({ length: 200 }, (_, i) => ({
            topic: `fleet/${part * 200 + i}`,
            data: { batch, pad: 'h'.repeat(300) },
          })),
        }),
      ),
    );
    const failed = answers.find((answer) => answer.status !== 202);
    if (failed) throw new Error(`batch ${batch}: ${failed.status} ${JSON.stringify(failed.body)}`);
    if (batch + 1 === HISTORY_SIZE) fullAt = Date.now();
    await sleep(Math.max(0, 250 - (Date.now() - started)));
  }
}

async function rampScenario(target: Watched): Promise<RawSseClient[]> {
  await warm(target);
  // 0 → 2,000 streams over about 1.5 windows from 20 client IPs (each step answered before the next), then flat for 2 windows.
  const clients: RawSseClient[] = [];
  const perStep = 50;
  const stepMs = (1.5 * WINDOW_MS) / (STREAMS / perStep);
  for (let opened = 0; opened < STREAMS; opened += perStep) {
    const started = Date.now();
    const step = Array.from(
      { length: perStep },
      (_, i) =>
        new RawSseClient(`${target.url}/v1/events?topic=ramp`, { localAddress: `127.0.0.${2 + ((opened + i) % IPS)}` }),
    );
    clients.push(...step);
    await eventually(() => step.every((client) => client.status !== 0 || client.closed), 30_000, 'a step of streams');
    if (step.some((client) => client.status !== 200))
      throw new Error(`a stream was refused: ${step.find((c) => c.status !== 200)?.head}`);
    await sleep(Math.max(0, stepMs - (Date.now() - started)));
  }
  await sleep(2 * WINDOW_MS);
  return clients;
}

interface LeakRun {
  cycles: number;
  startedAt: number;
  stoppedAt: number;
  retained: number;
  suspectedAt?: number;
  clearedAt?: number;
  suspicionsBefore: number;
}

async function leakScenario(target: Watched): Promise<LeakRun> {
  const cycling = churn(target);
  try {
    await warm(target);
    // A whole judged window of the same churn without the leak first: churn alone is not a leak.
    await sleep(WINDOW_MS);
    const suspicionsBefore = suspicions(await scrape(target));
    const started = await request<{ leakStartedAt: number }>(`${target.url}/test/leaky/start`, { method: 'POST' });
    const startedAt = started.body.leakStartedAt;
    const flagged = await eventually(
      () => target.verdicts.find(({ at, leak }) => at > startedAt && leak.suspected),
      4 * WINDOW_MS,
      'leak suspected',
    ).catch(() => undefined);
    const stopped = await request<{ leakStoppedAt: number; retained: number }>(`${target.url}/test/leaky/stop`, {
      method: 'POST',
    });
    const stoppedAt = stopped.body.leakStoppedAt;
    const cleared = await eventually(
      () => target.verdicts.find(({ at, leak }) => at > stoppedAt && !leak.suspected),
      5 * WINDOW_MS,
      'suspicion cleared',
    ).catch(() => undefined);
    // A window more of churn: the cleared verdict stays cleared.
    await sleep(WINDOW_MS);
    return {
      cycles: cycling.cycles(),
      startedAt,
      stoppedAt,
      retained: stopped.body.retained,
      suspectedAt: flagged === undefined ? undefined : Date.parse(flagged.leak.suspectedSince ?? ''),
      clearedAt: cleared?.at,
      suspicionsBefore,
    };
  } finally {
    await cycling.stop();
  }
}

const builtApp = existsSync(`${DIST}/src/app.module.js`);

describe(`Leak detection on real processes (window ${WINDOW_MS} ms, snapshots every ${SNAPSHOT_MS} ms)`, () => {
  let idle: Watched;
  let history: Watched;
  let ramp: Watched;
  let leaky: Watched;
  let leakRun: LeakRun;
  const metrics: Record<string, string> = {};
  let historyBytes: number | null = null;

  beforeAll(async () => {
    if (!builtApp) throw new Error(`no built app at ${DIST} (run npm run build, or set HERALD_DIST)`);
    const spawnedAt = Date.now();
    [idle, history, ramp, leaky] = await Promise.all([
      spawnHerald('idle'),
      spawnHerald('history', { HISTORY_SIZE: String(HISTORY_SIZE) }),
      spawnHerald('ramp', { MAX_CONNECTIONS_PER_IP: String(STREAMS / IPS) }),
      spawnHerald('leak'),
    ]);
    const begun = Date.now();
    const timed = async <T>(name: string, scenario: Promise<T>): Promise<T> => {
      const result = await scenario;
      process.stdout.write(`${name} scenario done after ${Date.now() - begun} ms\n`);
      return result;
    };
    process.stdout.write(`4 processes up after ${Date.now() - spawnedAt} ms\n`);
    const [, , clients, run] = await Promise.all([
      timed('idle', idleScenario(idle)),
      timed('history', historyScenario(history)),
      timed('ramp', rampScenario(ramp)),
      timed('leak', leakScenario(leaky)),
    ]);
    leakRun = run;
    historyBytes = (await request<HeraldStatus>(`${history.url}/status`)).body.throughput.historyBytes;
    for (const target of [idle, history, ramp, leaky]) {
      await target.stopWatching();
      metrics[target.name] = await scrape(target);
      process.stdout.write(`${summary(target)}\n`);
    }
    for (const client of clients) client.close();
    process.stdout.write(
      `leak: ${run.cycles} cycles, ${run.retained} × ${LEAK_BYTES / 1024} KB kept; suspected ${(run.suspectedAt ?? NaN) - run.startedAt} ms after the leak began, cleared ${(run.clearedAt ?? NaN) - run.stoppedAt} ms after it stopped\n`,
    );
  }, 120_000);

  afterAll(() => {
    for (const target of [idle, history, ramp, leaky]) target?.child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  const neverSuspected = (target: Watched): void => {
    expect(target.verdicts[0]?.leak.phase).toBe('warm-up');
    expect(judged(target).length).toBeGreaterThan(20);
    expect(target.verdicts.filter(({ leak }) => leak.suspected)).toEqual([]);
    expect(suspicions(metrics[target.name])).toBe(0);
    expect(metrics[target.name]).toMatch(/^herald_memory_leak_suspected 0$/m);
  };

  it('an idle fresh instance is never suspected over its warm-up and three windows', () => {
    const first = judged(idle)[0].at;
    expect(judged(idle).at(-1)?.at).toBeGreaterThanOrEqual(first + 3 * WINDOW_MS);
    neverSuspected(idle);
  });

  it('history filling 1,000 topics to their bound is never suspected, its bytes charged to the history', () => {
    expect(Math.max(...history.verdicts.map((verdict) => verdict.historyEvents))).toBe(TOPICS * HISTORY_SIZE);
    expect(historyBytes).toBeGreaterThan(TOPICS * HISTORY_SIZE * 300);
    expect(judged(history).some(({ leak }) => leak.explainedBy.includes('retainedBytes'))).toBe(true);
    neverSuspected(history);
  });

  it('0 → 2,000 streams, then flat, is never suspected, its growth charged to the streams', () => {
    expect(Math.max(...ramp.verdicts.map((verdict) => verdict.active))).toBe(STREAMS);
    expect(judged(ramp).some(({ leak }) => leak.explainedBy.includes('streams'))).toBe(true);
    neverSuspected(ramp);
  });

  it('a leak of 50 KB per connect/disconnect cycle is suspected within 2 windows, pages once, and resolves when it stops', async () => {
    expect(leakRun.suspicionsBefore).toBe(0);
    expect(leakRun.retained).toBeGreaterThan(20);
    expect(leakRun.suspectedAt).toBeDefined();
    const flaggedAfterMs = (leakRun.suspectedAt ?? NaN) - leakRun.startedAt;
    expect(flaggedAfterMs).toBeGreaterThan(0);
    expect(flaggedAfterMs).toBeLessThanOrEqual(2 * WINDOW_MS);
    expect(leakRun.clearedAt).toBeDefined();
    expect(suspicions(metrics.leak)).toBe(1);
    expect(metrics.leak).toMatch(/^herald_memory_leak_suspected 0$/m);
    const alerts = await request<AlertHistoryEntry[]>(
      `${leaky.url}/v1/admin/alerts/history?ruleId=memory-leak-suspected`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    );
    expect(alerts.body.map((entry) => entry.status).reverse()).toEqual(['firing', 'resolved']);
    expect(Date.parse(alerts.body[1].startedAt)).toBeGreaterThanOrEqual(leakRun.startedAt);
  });
});
