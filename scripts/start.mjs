// `npm start`: builds only when a source is newer than the build, then runs `node dist/main.js` as a child
// that this process stops with it. npm runs it through `exec` (package.json), so npm's own signal reaches
// it; the server gets every signal from here, exactly once, and this process exits with the server's code.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** What `npm run build` reads. Directories count too: a deleted file changes its directory's mtime. */
const SOURCES = [
  'src',
  'libs',
  'public',
  'scripts',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
];
/** What `npm run build` writes; never counted as sources. */
const OUTPUTS = [
  'dist/main.js',
  'dist/src/main.js',
  'public/client/herald.js',
  'public/client/herald-worker.js',
  'libs/client/dist/herald.js',
];
const OUTPUT_DIRS = new Set(['dist', 'public/client', 'libs/client/dist', 'node_modules']);

/** The newest file or directory under `path`, as [mtimeMs, path]. */
function newest(path) {
  if (OUTPUT_DIRS.has(relative(root, path)) || path.endsWith('/node_modules')) return [0, path];
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return [0, path];
  if (!stat.isDirectory()) return [stat.mtimeMs, path];
  const entries = readdirSync(path).map((entry) => join(path, entry));
  // A directory holding an output (public/, libs/client/) changes when the build recreates it: not a source change.
  const holdsOutput = entries.some((entry) => OUTPUT_DIRS.has(relative(root, entry)));
  let found = holdsOutput ? [0, path] : [stat.mtimeMs, path];
  for (const entry of entries) {
    const inner = newest(entry);
    if (inner[0] > found[0]) found = inner;
  }
  return found;
}

/** Why the build is out of date, or undefined when every output is newer than every source. */
function staleReason() {
  const missing = OUTPUTS.find((output) => !existsSync(join(root, output)));
  if (missing) return `${missing} is missing`;
  const oldest = Math.min(...OUTPUTS.map((output) => statSync(join(root, output)).mtimeMs));
  const [mtime, source] = SOURCES.map((name) => newest(join(root, name))).reduce((a, b) => (b[0] > a[0] ? b : a));
  return mtime > oldest ? `${relative(root, source)} is newer than the build` : undefined;
}

const reason = staleReason();
if (reason) {
  process.stderr.write(`herald: ${reason}: building (npm run build)\n`);
  // npm_execpath: the npm that runs this script; stdout stays JSON log lines, so the build writes to stderr.
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  const built = spawnSync(npm[0], [...npm.slice(1), 'run', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (built.status !== 0) {
    process.stderr.write('herald: the build failed; not starting\n');
    process.exit(built.status ?? 1);
  }
}

// Its own process group: a terminal's Ctrl-C reaches only this process (and npm), and the server gets it from here once.
const server = spawn(process.execPath, [join(root, 'dist/main.js'), ...process.argv.slice(2)], {
  cwd: process.cwd(),
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});

/** A Ctrl-C reaches this process twice (from the terminal, and forwarded by npm): one press within this time. */
const SAME_PRESS_MS = 200;
const last = {};
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    const now = Date.now();
    if (now - (last[signal] ?? -Infinity) < SAME_PRESS_MS) return;
    last[signal] = now;
    // A closed terminal (SIGHUP) stops the server like an orchestrator would: drained.
    server.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
  });
}

// If whatever started this dies without a signal (SIGKILL), the server must not run on alone.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  server.kill('SIGTERM');
}, 1_000).unref();

server.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
