// Bundles the browser/Node client (libs/client) with esbuild: public/client/herald.js (ES module),
// public/client/herald-worker.js (the SharedWorker, a classic script) and type declarations.
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}public/client`;
const started = Date.now();

rmSync(`${outdir}/herald.js`, { force: true });
mkdirSync(outdir, { recursive: true });

const shared = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  target: ['es2022', 'chrome100', 'firefox100', 'safari16'],
  tsconfig: `${root}tsconfig.json`,
  legalComments: 'none',
  logLevel: 'warning',
};

await Promise.all([
  build({
    ...shared,
    entryPoints: { herald: 'libs/client/src/index.ts' },
    outdir,
    format: 'esm',
    platform: 'neutral',
  }),
  build({
    ...shared,
    entryPoints: { 'herald-worker': 'libs/client/src/worker.ts' },
    outdir,
    format: 'iife',
    platform: 'browser',
  }),
]);

// Declarations for `import { HeraldClient } from 'herald/client'` (package.json "exports");
// `--bundles-only` (the browser e2e suite) skips them: they take seconds, the bundles milliseconds.
if (process.argv.includes('--bundles-only')) {
  process.stdout.write(`client bundles built in ${Date.now() - started} ms -> public/client/\n`);
  process.exit(0);
}
const { default: ts } = await import('typescript');
const program = ts.createProgram([`${root}libs/client/src/index.ts`], {
  declaration: true,
  emitDeclarationOnly: true,
  declarationDir: `${outdir}/types`,
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
  if (fileName.startsWith(`${outdir}/types/`)) ts.sys.writeFile(fileName, text);
});
const problems = emitted.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
if (problems.length > 0) {
  process.stderr.write(ts.formatDiagnostics(problems, ts.createCompilerHost({})));
  process.exit(1);
}
process.stdout.write(`client bundles built in ${Date.now() - started} ms -> public/client/\n`);
