// Jest (VM modules, Node 20) cannot require() an ES module; Node 20.19+ itself can.
// @nestjs/throttler and @willsoto/nestjs-prometheus are CommonJS packages that require()
// the ESM-only Nest 12 packages, so for Jest only we bundle each into one ES module whose
// require() of an outside package is served from static imports. Same code, other wrapper.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(`${root}/package.json`);
const outDir = `${root}/node_modules/.cache/herald-esm-bridges`;

export const BRIDGED = ['@nestjs/throttler', '@willsoto/nestjs-prometheus'];
const EXTERNAL = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs', 'rxjs/operators', 'prom-client'];

export function bridgePath(name) {
  return `${outDir}/${name.replace(/[@/]/g, '_')}.mjs`;
}

async function bridge(name) {
  const entry = require.resolve(name);
  const out = bridgePath(name);
  const version = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  try {
    if (readFileSync(out, 'utf8').startsWith(`// ${name}@${version}\n`) && statSync(out).size > 0) return;
  } catch {
    // not built yet
  }
  const names = Object.keys(require(name)).filter((key) => key !== 'default' && /^[A-Za-z_$][\w$]*$/.test(key));
  const imports = EXTERNAL.map((id, i) => `import * as __ext${i} from '${id}';`).join('\n');
  const table = EXTERNAL.map((id, i) => `'${id}': __ext${i}`).join(', ');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    external: EXTERNAL,
    write: false,
    logLevel: 'silent',
  });
  const body = result.outputFiles[0].text.replace(/export default (require_\w+)\(\);\s*$/, 'const __bridged = $1();');
  const code = [
    `// ${name}@${version}`,
    imports,
    `const __table = { ${table} };`,
    `import { createRequire as __createRequire } from 'node:module';`,
    `const __nodeRequire = __createRequire(import.meta.url);`,
    // Outside packages come from the static imports; Node built-ins from Node's own require.
    `const require = (id) => { const m = __table[id]; if (!m) return __nodeRequire(id); return m.default && Object.keys(m).length === 1 ? m.default : m; };`,
    body,
    'export default __bridged;',
    `export const { ${names.join(', ')} } = __bridged;`,
  ].join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(out, code);
}

export async function buildBridges() {
  for (const name of BRIDGED) await bridge(name);
}
