import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawSseClient } from './support/raw-sse.js';
import { ADMIN_TOKEN, eventually, PUBLISH_TOKEN } from './support/herald.js';

/**
 * `npm start` as a user runs it, in a copy of the repository (so a rebuild
 * touches nothing the other suites read): it builds only when a source is
 * newer than the build, and stopping npm stops the server with it.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COPIED = ['src', 'libs', 'scripts', 'public', 'dist', 'package.json', 'package-lock.json'];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'];
/** What the launcher (scripts/start.mjs) takes for the build. */
const OUTPUTS = [
  'dist/main.js',
  'dist/src/main.js',
  'public/client/herald.js',
  'public/client/herald-worker.js',
  'libs/client/dist/herald.js',
];

interface NpmStart {
  npm: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
  /** The 'herald listening' line. */
  listening: Record<string, unknown>;
  startedInMs: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Parent pid of `pid`, from /proc. */
function parentOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('npm start (scripts/start.mjs) on a copy of the repository', () => {
  let work: string;
  /** When the copy's outputs were stamped: every source is older. */
  let outputsAt: number;
  const started: ChildProcess[] = [];

  async function npmStart(timeoutMs = 30_000): Promise<NpmStart> {
    const began = Date.now();
    // Its own process group, like a shell job: a group signal reaches npm and the launcher, as Ctrl-C does.
    const npm = spawn('npm', ['start'], {
      cwd: work,
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        PORT: '0',
        HOST: '127.0.0.1',
        ADMIN_TOKEN,
        PUBLISH_TOKEN,
        ALERTS_STORE_PATH: join(work, 'alerts.json'),
        DRAIN_TIMEOUT_MS: '3000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(npm);
    const run = { npm, stdout: '', stderr: '' } as NpmStart;
    npm.stdout?.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
    npm.stderr?.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
    run.exited = new Promise((resolve) => npm.on('exit', (code) => resolve(code)));
    run.listening = await eventually(
      () =>
        run.stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((line) => line.msg === 'herald listening'),
      timeoutMs,
      `herald listening (stderr: ${run.stderr})`,
    );
    run.startedInMs = Date.now() - began;
    return run;
  }

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'herald-npm-start-'));
    for (const entry of [...COPIED, ...CONFIGS]) cpSync(join(ROOT, entry), join(work, entry), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
    // The copy's build is current: every output newer than every source.
    outputsAt = Date.now() + 2_000;
    for (const output of OUTPUTS) utimesSync(join(work, output), new Date(outputsAt), new Date(outputsAt));
  });

  afterAll(() => {
    for (const npm of started) if (npm.exitCode === null && npm.pid) process.kill(-npm.pid, 'SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('with a current build: starts without building; SIGTERM to npm drains the server and frees the port, no orphan', async () => {
    const run = await npmStart();
    expect(run.stderr).not.toMatch(/building/);
    const server = Number(run.listening.pid);
    const port = Number(run.listening.port);
    // npm -> the launcher (exec'd by npm's shell) -> node dist/main.js.
    const launcher = parentOf(server);
    expect(parentOf(launcher)).toBe(run.npm.pid);
    const stream = new RawSseClient(`http://127.0.0.1:${port}/v1/events?topic=npm-start`);
    expect(await stream.waitForStatus()).toBe(200);

    run.npm.kill('SIGTERM');
    const [close] = await stream.waitForEvents(1, 10_000);
    expect(close).toMatchObject({ event: 'close', data: '{"reason":"draining"}' });
    expect(await run.exited).toBe(0);
    expect(isAlive(server)).toBe(false);
    expect(isAlive(launcher)).toBe(false);
    expect(await portRefuses(port)).toBe(true);
    expect(run.stdout).toContain('"msg":"drained"');
  }, 60_000);

  it('a source newer than the build: builds, then starts; a Ctrl-C (SIGINT to the group) drains once and exits 0', async () => {
    // Newer than the outputs but not in the future: a build then writes outputs newer than it.
    const newer = outputsAt + 1_000;
    while (Date.now() <= newer) await new Promise((resolve) => setTimeout(resolve, 100));
    utimesSync(join(work, 'src', 'main.ts'), new Date(newer), new Date(newer));
    const run = await npmStart(240_000);
    expect(run.stderr).toContain('herald: src/main.ts is newer than the build: building (npm run build)');
    const server = Number(run.listening.pid);
    // A terminal's Ctrl-C reaches npm and the launcher; npm forwards its copy: the server must see one signal.
    process.kill(-run.npm.pid!, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(isAlive(server)).toBe(false);
    expect(run.stdout).toContain('"msg":"drained"');
    expect(run.stdout).not.toContain('second signal');

    // Built once: the next start does not build again.
    const again = await npmStart();
    expect(again.stderr).not.toMatch(/building/);
    again.npm.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  }, 300_000);

  it('npm killed outright (SIGKILL): the launcher sees it and stops the server, drained', async () => {
    const run = await npmStart();
    const server = Number(run.listening.pid);
    const port = Number(run.listening.port);
    run.npm.kill('SIGKILL');
    await eventually(() => !isAlive(server), 10_000, 'the server to exit');
    expect(await portRefuses(port)).toBe(true);
    expect(run.stdout).toContain('"msg":"drained"');
  }, 60_000);
});
