// `node dist/main.js` (README, docs/startup.md) while tsc, compiling src/ and libs/ together, emits dist/src/main.js.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/main.js', import.meta.url), "import './src/main.js';\n");
