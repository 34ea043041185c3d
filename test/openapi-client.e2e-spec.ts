import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import ts from 'typescript';
import { PUBLISH_TOKEN, startHerald, type RunningHerald } from './support/herald.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../examples/openapi-client/', import.meta.url));
const TYPES = 'herald-api.d.ts';
const SCRIPT = 'publish-and-poll.ts';
const REGENERATE =
  'npm start, then: npx openapi-typescript http://localhost:3000/openapi.json -o examples/openapi-client/herald-api.d.ts';

/** tsc's verdict on each of `files` (strict ESM with Node's types, fetch included), in one program. */
function typeErrors(files: string[]): string[][] {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [fileURLToPath(new URL('../node_modules/@types', import.meta.url))],
    skipLibCheck: true,
  });
  return files.map((file) =>
    ts
      .getPreEmitDiagnostics(program, program.getSourceFile(file))
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')),
  );
}

describe('OpenAPI: the generated-client example (openapi-typescript)', () => {
  let herald: RunningHerald;
  let generated: string;
  /** A scratch copy of the example next to types generated from the running server. */
  let scratch: string;

  beforeAll(async () => {
    herald = await startHerald();
    const document = (await (await fetch(`${herald.url}/openapi.json`)).json()) as Parameters<typeof openapiTS>[0];
    generated = COMMENT_HEADER + astToString(await openapiTS(document, { silent: true }));
    scratch = mkdtempSync(join(tmpdir(), 'herald-openapi-client-'));
    writeFileSync(join(scratch, 'package.json'), '{"type":"module"}');
    writeFileSync(join(scratch, TYPES), generated);
    copyFileSync(join(EXAMPLE_DIR, SCRIPT), join(scratch, SCRIPT));
  });
  afterAll(() => herald.close());

  it(`examples/openapi-client/${TYPES} is what openapi-typescript makes of /openapi.json today`, () => {
    const committed = readFileSync(join(EXAMPLE_DIR, TYPES), 'utf8');
    expect({ upToDate: committed === generated, regenerate: REGENERATE }).toEqual({
      upToDate: true,
      regenerate: REGENERATE,
    });
  });

  it('the example type-checks against those types, and a wrong body does not', () => {
    const source = readFileSync(join(scratch, SCRIPT), 'utf8');
    // The same call without `data`, which the document marks required: tsc must refuse it.
    const broken = source.replace("{ type: 'position', data: { lat: 52.52, lon: 13.405 } }", "{ type: 'position' }");
    expect(broken).not.toBe(source);
    writeFileSync(join(scratch, 'broken.ts'), broken);
    const [example, wrong] = typeErrors([join(scratch, SCRIPT), join(scratch, 'broken.ts')]);
    expect(example).toEqual([]);
    expect(wrong.join('\n')).toMatch(/Property 'data' is missing/);
  }, 60_000);

  it('runs against the server: publishes, then long-polls what followed the first event', async () => {
    const bundle = join(scratch, 'publish-and-poll.mjs');
    await build({
      entryPoints: [join(scratch, SCRIPT)],
      outfile: bundle,
      format: 'esm',
      platform: 'node',
      logLevel: 'silent',
    });
    const { stdout } = await promisify(execFile)(process.execPath, [bundle], {
      env: { ...process.env, HERALD_URL: herald.url, HERALD_PUBLISH_TOKEN: PUBLISH_TOKEN },
      timeout: 15_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^[a-z0-9]+-2 trucks\/42 position \{"lat":52\.53,"lon":13\.41\}$/);
    expect(lines[1]).toBe(`next cursor: ${lines[0].split(' ')[0]}`);
  });
});
