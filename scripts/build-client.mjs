// Bundles the browser/Node client (libs/client) with esbuild, twice from the same sources:
// - public/client/: what the server serves: herald.js and herald.mjs (the same ES module; `.mjs` stays a
//   module when saved into any project), herald-worker.js (the SharedWorker, a classic script), source maps;
// - libs/client/dist/: the `@herald/client` package (libs/client/package.json): the module, the worker and
//   type declarations, with every dependency (libs/sse, eventsource-parser) bundled in, so it has none.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const served = `${root}public/client`;
const pkg = `${root}libs/client/dist`;
const started = Date.now();

// `--bundles-only` (the browser e2e suites): only what the server serves, in milliseconds; the package and
// its declarations (seconds) are left as `npm run build` made them, for suites reading them meanwhile.
const bundlesOnly = process.argv.includes('--bundles-only');

rmSync(`${served}/herald.js`, { force: true });
// Declarations of earlier builds, now in the package.
rmSync(`${served}/types`, { recursive: true, force: true });
if (!bundlesOnly) rmSync(pkg, { recursive: true, force: true });
mkdirSync(served, { recursive: true });

const shared = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: 'linked',
  target: ['es2022', 'chrome100', 'firefox100', 'safari16'],
  tsconfig: `${root}tsconfig.json`,
  legalComments: 'none',
  logLevel: 'warning',
};
const client = { entryPoints: { herald: 'libs/client/src/index.ts' }, format: 'esm', platform: 'neutral' };
const worker = { entryPoints: { 'herald-worker': 'libs/client/src/worker.ts' }, format: 'iife', platform: 'browser' };

await Promise.all([
  build({ ...shared, ...client, minify: true, outdir: served }),
  build({ ...shared, ...client, minify: true, outdir: served, outExtension: { '.js': '.mjs' } }),
  build({ ...shared, ...worker, minify: true, outdir: served }),
]);
if (bundlesOnly) {
  process.stdout.write(`client bundles built in ${Date.now() - started} ms -> public/client/\n`);
  process.exit(0);
}
// The package is read by people and bundlers: not minified (their bundler minifies).
await Promise.all([build({ ...shared, ...client, outdir: pkg }), build({ ...shared, ...worker, outdir: pkg })]);
const { default: ts } = await import('typescript');
const program = ts.createProgram([`${root}libs/client/src/index.ts`], {
  declaration: true,
  emitDeclarationOnly: true,
  declarationDir: `${pkg}/types`,
  rootDir: `${root}libs/client/src`,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: [],
  strict: true,
  skipLibCheck: true,
  baseUrl: root,
  paths: { '@herald/sse': ['libs/sse/src/index.ts'] },
});
const emitted = program.emit(undefined, (fileName, text) => {
  // Only the client's own files: libs/sse is bundled, never part of the published types.
  if (fileName.startsWith(`${pkg}/types/`)) ts.sys.writeFile(fileName, text);
});
const problems = emitted.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
if (problems.length > 0) {
  process.stderr.write(ts.formatDiagnostics(problems, ts.createCompilerHost({})));
  process.exit(1);
}
process.stdout.write(`client built in ${Date.now() - started} ms -> public/client/, libs/client/dist/\n`);
