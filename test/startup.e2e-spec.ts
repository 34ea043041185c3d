import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HeraldChild, MAIN_JS } from './support/herald-child.js';
import { request } from './support/herald.js';

const VERSION = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string }
).version;

/** `node dist/main.js` until it exits, or until `until` matches its stdout (then SIGTERM). */
function run(
  env: Record<string, string>,
  until?: RegExp,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN_JS], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (until?.test(stdout) && child.signalCode === null && !child.killed) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('start-up of the built server (node dist/main.js)', () => {
  const children: HeraldChild[] = [];
  afterAll(() => Promise.all(children.map((child) => child.stop())));

  it('logs one line at info until listening: its URLs and the generated admin token', async () => {
    const result = await run({ PORT: '0' }, /herald listening/);
    const logged = lines(result.stdout);
    const listening = logged.findIndex((line) => line.msg === 'herald listening');
    expect(listening).toBe(0);
    const start = logged[0];
    const base = `http://127.0.0.1:${String(start.port)}`;
    expect(start).toMatchObject({
      level: 'info',
      host: '127.0.0.1',
      port: expect.any(Number),
      broker: 'memory',
      pid: expect.any(Number),
      urls: {
        streams: `${base}/v1/events`,
        dashboard: `${base}/dashboard`,
        docs: `${base}/docs`,
        metrics: `${base}/metrics`,
      },
      adminToken: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
    });
    expect(logged.filter((line) => line.adminToken !== undefined)).toHaveLength(1);
    expect(result.stderr).toBe('');
  });

  it("keeps Nest's route listing for LOG_LEVEL=debug", async () => {
    const result = await run({ PORT: '0', LOG_LEVEL: 'debug' }, /herald listening/);
    const mapped = lines(result.stdout).filter((line) => line.context === 'RouterExplorer');
    expect(mapped.length).toBeGreaterThan(20);
    expect(mapped.every((line) => line.level === 'debug')).toBe(true);
  });

  it('a port in use: one line naming the address, exit code 1, no stack trace', async () => {
    const first = await HeraldChild.start();
    children.push(first);
    const result = await run({ PORT: String(first.port), ADMIN_TOKEN: 'test-admin-token-0123456789' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `herald: cannot listen on 127.0.0.1:${first.port}: the address is already in use (another process listens there; set PORT or stop it)`,
    ]);
    // Nothing on stdout but what info shows: no "successfully started", no error line from Nest.
    expect(result.stdout).toBe('');
    expect(first.running).toBe(true);
  });

  it('a misspelt variable: one warning naming the closest real one, never its value', async () => {
    const result = await run(
      { PORT: '0', MAX_CONECTIONS: 'value-that-must-not-leak', HOME: '/root', HOSTNAME: 'pod-1' },
      /herald listening/,
    );
    const warned = lines(result.stdout).filter((line) => line.level === 'warn');
    expect(warned).toEqual([
      {
        level: 'warn',
        time: expect.any(String),
        context: 'Config',
        msg: 'unknown variable MAX_CONECTIONS is ignored; did you mean MAX_CONNECTIONS?',
        variable: 'MAX_CONECTIONS',
        closest: 'MAX_CONNECTIONS',
      },
    ]);
    expect(result.stdout).not.toContain('value-that-must-not-leak');
  });

  it('GET / answers what this is, with links that answer', async () => {
    const herald = await HeraldChild.start();
    children.push(herald);
    const index = await request<{ name: string; version: string; links: Record<string, string> }>(`${herald.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^application\/json/);
    expect(index.body).toMatchObject({
      name: 'herald',
      version: VERSION,
      links: { docs: '/docs', dashboard: '/dashboard', ready: '/health/ready' },
    });
    for (const path of ['docs', 'openapi', 'dashboard', 'ready', 'client'])
      expect([path, (await fetch(`${herald.url}${index.body.links[path]}`)).status]).toEqual([path, 200]);
  });
});
