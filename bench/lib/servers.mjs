// The servers under test: Herald (from its build) and the four baselines, all
// speaking GET /v1/events?topic=… and POST /v1/topics/{topic}/events. Each runs
// in its own process pinned to core 0 (taskset) with the memory probe preloaded.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Publisher } from './publisher.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Scratch space (logs, the compiled naive baseline, profiles); BENCH_WORK_DIR moves it (give it a node_modules). */
export const WORK_DIR = process.env.BENCH_WORK_DIR ?? join(ROOT, '.tmp', 'bench');
export const PUBLISH_TOKEN = 'bench-publisher-token-0123456789';
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
const PROBE = new URL('./server-probe.mjs', import.meta.url).href;

/** Herald with its protective limits raised out of the benchmark's way. */
export const HERALD_ENV = {
  MAX_CONNECTIONS: '1000000',
  MAX_CONNECTIONS_PER_IP: '1000000',
  PUBLISH_RATE_LIMIT: '100000000',
  PUBLISH_TOKEN,
  ADMIN_TOKEN,
  LOG_LEVEL: 'warn',
  DRAIN_TIMEOUT_MS: '1000',
  ALERTS_STORE_PATH: join(WORK_DIR, 'alerts.json'),
};

export const SERVERS = [
  { key: 'herald', label: 'Herald', entry: () => heraldEntry(), env: HERALD_ENV },
  { key: 'naive-nest', label: 'naive NestJS @Sse', entry: () => buildNaiveNest(), env: {} },
  { key: 'better-sse', label: 'better-sse 0.16', entry: () => join(ROOT, 'bench/baselines/better-sse/server.mjs') },
  { key: 'express', label: 'bare Express 5', entry: () => join(ROOT, 'bench/baselines/express/server.mjs') },
  {
    key: 'hand-tuned',
    label: 'hand-tuned node:http',
    entry: () => join(ROOT, 'bench/baselines/hand-tuned/server.mjs'),
  },
];

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export function pinning() {
  return hasTaskset ? 'server on core 0, load client on core 1 (taskset)' : 'not pinned (taskset missing)';
}

/** Moves this process (all its threads) to `core`, so the load client never shares the server's core. */
export function pinSelf(core) {
  if (!hasTaskset) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // Build outputs (libs/client/dist holds generated .d.ts files) are not sources.
    if (entry.isDirectory() && (entry.name === 'dist' || entry.name === 'node_modules')) continue;
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Herald's entry point: `dist/main.js` (built with `npm run build` when missing
 * or older than src/ and libs/), or the build named by HERALD_DIST.
 */
function heraldEntry() {
  const dist = process.env.HERALD_DIST ? join(process.env.HERALD_DIST) : join(ROOT, 'dist');
  const main = join(dist, 'main.js');
  if (process.env.HERALD_DIST) return main;
  const sources = Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'libs')));
  if (!existsSync(main) || statSync(main).mtimeMs < sources) {
    console.log('building Herald (npm run build) …');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  return main;
}

/** Compiles the naive Nest baseline with esbuild (decorators, no metadata). */
async function buildNaiveNest() {
  const { build } = await import('esbuild');
  const outfile = join(WORK_DIR, 'naive-nest.mjs');
  await build({
    entryPoints: [join(ROOT, 'bench/baselines/naive-nest/main.ts')],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    tsconfigRaw: { compilerOptions: { experimentalDecorators: true } },
  });
  return outfile;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export class RunningServer {
  constructor(definition, child, port, logFile) {
    this.definition = definition;
    this.child = child;
    this.pid = child.pid;
    this.host = '127.0.0.1';
    this.port = port;
    this.logFile = logFile;
    this.nextId = 0;
    this.waiting = new Map();
    this.exited = null;
    child.on('message', (message) => {
      this.waiting.get(message.id)?.(message.result);
      this.waiting.delete(message.id);
    });
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const resolve of this.waiting.values()) resolve(null);
      this.waiting.clear();
    });
  }

  get alive() {
    return this.exited === null;
  }

  /** Asks the preloaded probe (server-probe.mjs); resolves to null if the server is gone. */
  probe(op, fields = {}) {
    if (!this.alive) return Promise.resolve(null);
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, op, ...fields });
    });
  }

  /** Heap and RSS after a full GC in the server. */
  memory() {
    return this.probe('memory');
  }

  /** Open file descriptors of the server process. */
  openFds() {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  async stop() {
    if (!this.alive) return this.exited;
    const exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8_000);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }
}

/**
 * Starts a server and waits until it accepts a publish. `nodeArgs` adds flags
 * (e.g. --cpu-prof), `env` overrides its environment.
 */
export async function startServer(definition, { env = {}, nodeArgs = [], core = 0, tag = '' } = {}) {
  mkdirSync(join(WORK_DIR, 'logs'), { recursive: true });
  const entry = await definition.entry();
  const port = await freePort();
  const logFile = join(WORK_DIR, 'logs', `${definition.key}${tag}.log`);
  const log = openSync(logFile, 'w');
  const args = ['--expose-gc', '--import', PROBE, ...nodeArgs, entry];
  const command = hasTaskset ? 'taskset' : process.execPath;
  const argv = hasTaskset ? ['-c', String(core), process.execPath, ...args] : args;
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      PUBLISH_TOKEN,
      ...definition.env,
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', log, log, 'ipc'],
  });
  const server = new RunningServer(definition, child, port, logFile);
  const publisher = new Publisher({ host: server.host, port, token: PUBLISH_TOKEN });
  const deadline = Date.now() + 60_000;
  try {
    while ((await publisher.publish('bench-warmup', 'warm-up')) !== 202) {
      if (!server.alive || Date.now() > deadline) {
        await server.stop();
        throw new Error(`${definition.label} did not start (see ${logFile})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    publisher.close();
  }
  return server;
}

export function writeFileIn(dir, name, text) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
}
