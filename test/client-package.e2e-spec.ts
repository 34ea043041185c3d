import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { eventually, publishOk, startHerald, type RunningHerald } from './support/herald.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, describeWith } from './support/services.js';

/**
 * `@herald/client` as another project gets it: packed with `npm pack`,
 * installed from the tarball into a scratch project outside the repository,
 * imported from Node, type-checked, and bundled by esbuild into a page that
 * runs in Chromium, each receiving events from a running Herald.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = join(ROOT, 'libs', 'client');
const run = promisify(execFile);

/** A Node script in the scratch project: subscribes, prints `open`, then each event as a JSON line. */
const RECEIVER = (specifier: string) => `
import { HeraldClient } from '${specifier}';
const client = new HeraldClient(process.argv[2], { maxRetryDelayMs: 500 });
client.on('state', (state) => state === 'open' && console.log('open'));
client.subscribe('pkg/node', (data, meta) => {
  console.log(JSON.stringify({ data, id: meta.id, topic: meta.topic }));
  client.close();
});
`;

/** Runs `script` in `dir` with node, publishes once it is open, and returns the event line it printed. */
async function receiveInNode(herald: RunningHerald, dir: string, script: string): Promise<unknown> {
  const child = spawn(process.execPath, [script, herald.url], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await eventually(() => stdout.includes('open\n') || child.exitCode !== null, 10_000, 'the client to open');
    expect([stdout, stderr]).toEqual(['open\n', '']);
    const id = await publishOk(herald, 'pkg/node', { from: 'package' });
    expect(await exited).toBe(0);
    const [, line] = stdout.trim().split('\n');
    expect(JSON.parse(line)).toEqual({ data: { from: 'package' }, id, topic: 'pkg/node' });
    return JSON.parse(line);
  } finally {
    child.kill('SIGKILL');
  }
}

describe('@herald/client, packed and installed into another project', () => {
  let work: string;
  let app: string;
  let herald: RunningHerald;
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    expect(existsSync(join(PACKAGE, 'dist', 'types', 'index.d.ts'))).toBe(true); // built by `npm run build`
    work = mkdtempSync(join(tmpdir(), 'herald-client-package-'));
    app = join(work, 'app');
    mkdirSync(app);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE });
    [packed] = JSON.parse(stdout) as (typeof packed)[];
    // A project as `npm init -y` makes it: CommonJS by default, nothing installed.
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
    await run(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--cache',
        join(work, 'npm-cache'),
        join(work, packed.filename),
      ],
      { cwd: app, env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' } },
    );
    herald = await startHerald();
  }, 120_000);

  afterAll(async () => {
    await herald?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('is a package of its own: ESM with types and exports, built files only, no dependency', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', '@herald', 'client', 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({
      name: '@herald/client',
      type: 'module',
      exports: {
        '.': { types: './dist/types/index.d.ts', default: './dist/herald.js' },
        './worker': './dist/herald-worker.js',
      },
    });
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'])
      expect(manifest[field]).toBeUndefined();
    const files = packed.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/herald.js',
        'dist/herald-worker.js',
        'dist/types/index.d.ts',
      ]),
    );
    expect(files.filter((file) => !file.startsWith('dist/') && !['package.json', 'README.md'].includes(file))).toEqual(
      [],
    );
    // Its version is the server's: the same sources as /client/herald.js.
    expect(manifest.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    // Nothing left to resolve at run time: every import is bundled in.
    expect(readFileSync(join(app, 'node_modules', '@herald', 'client', 'dist', 'herald.js'), 'utf8')).not.toMatch(
      /(?:^|[\s;])import\s[^(]|\bfrom\s*["']|\brequire\(/m,
    );
    expect(readdirSync(join(app, 'node_modules')).sort()).toEqual(['.package-lock.json', '@herald']);
  });

  it('imports from Node (an .mjs in a CommonJS project) and receives events', async () => {
    writeFileSync(join(app, 'receive.mjs'), RECEIVER('@herald/client'));
    await receiveInNode(herald, app, 'receive.mjs');
  });

  it('type-checks against its declarations (tsc, nodenext)', async () => {
    writeFileSync(
      join(app, 'check.ts'),
      `import { HeraldClient, type EventMeta, type ClientMetrics } from '@herald/client';
const client: HeraldClient = new HeraldClient('http://127.0.0.1:3000', { maxRetryDelayMs: 1000 });
const off: () => void = client.subscribe(['a', 'b'], (_data: unknown, meta: EventMeta) => meta.id.length);
const metrics: ClientMetrics = client.metrics();
// @ts-expect-error a topic is a string, not a number: the declarations are really read
client.subscribe(42, () => undefined);
off();
export { metrics };
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          lib: ['es2023', 'dom'],
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app });
  });

  it('/client/herald.mjs saved into the same project imports from Node and receives events', async () => {
    for (const file of ['herald.mjs', 'herald-worker.js']) {
      const answer = await fetch(`${herald.url}/client/${file}`);
      expect(answer.status).toBe(200);
      writeFileSync(join(app, file), Buffer.from(await answer.arrayBuffer()));
    }
    writeFileSync(join(app, 'receive-saved.mjs'), RECEIVER('./herald.mjs'));
    await receiveInNode(herald, app, 'receive-saved.mjs');
  });

  describeWith(CHROMIUM_PATH !== undefined, 'Chromium (/usr/bin/chromium)')('bundled into a page by esbuild', () => {
    let browser: Browser;
    let site: Server;
    let siteUrl: string;

    beforeAll(async () => {
      const pub = join(app, 'public');
      mkdirSync(pub, { recursive: true });
      writeFileSync(
        join(app, 'page.js'),
        `import { HeraldClient } from '@herald/client';
const client = new HeraldClient(new URLSearchParams(location.search).get('herald'));
window.client = client;
window.received = [];
client.subscribe('pkg/page', (data, meta) => window.received.push({ data, id: meta.id }));
`,
      );
      writeFileSync(
        join(pub, 'index.html'),
        '<!doctype html><title>scratch</title><script type="module" src="page.js"></script>',
      );
      // esbuild resolves '@herald/client' from the project's node_modules through the package's exports.
      await run(
        join(ROOT, 'node_modules', '.bin', 'esbuild'),
        ['page.js', '--bundle', '--format=esm', '--outfile=public/page.js'],
        { cwd: app },
      );
      // The worker, served next to the bundle (the client's default workerUrl), from the package.
      copyFileSync(
        join(app, 'node_modules', '@herald', 'client', 'dist', 'herald-worker.js'),
        join(pub, 'herald-worker.js'),
      );
      site = createServer((req, res) => {
        const path = join(pub, new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html'));
        if (!path.startsWith(pub) || !existsSync(path)) return void res.writeHead(404).end();
        const type = extname(path) === '.html' ? 'text/html' : 'text/javascript';
        res.writeHead(200, { 'content-type': type }).end(readFileSync(path));
      });
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => site?.close(resolve));
    });

    it('receives events in Chromium, sharing its stream through the packaged worker', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${siteUrl}/?herald=${encodeURIComponent(herald.url)}`);
      await page.waitForFunction(
        () => (window as unknown as { client?: { state: string } }).client?.state === 'open',
        undefined,
        {
          timeout: 10_000,
        },
      );
      const id = await publishOk(herald, 'pkg/page', { from: 'bundle' });
      await page.waitForFunction(
        () => (window as unknown as { received: unknown[] }).received.length === 1,
        undefined,
        {
          timeout: 10_000,
        },
      );
      const seen = await page.evaluate(() => {
        const w = window as unknown as { received: unknown[]; client: { metrics(): { shared: boolean } } };
        return { received: w.received, shared: w.client.metrics().shared };
      });
      expect(seen).toEqual({ received: [{ data: { from: 'bundle' }, id }], shared: true });
      expect(errors).toEqual([]);
    });
  });
});
