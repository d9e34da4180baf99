// Builds the package: JavaScript with tsup (ESM for every entry, CJS for those that can work under
// require), then ONE set of declarations with tsc, shared by both formats.
//
// Why one set: tsup writes index.d.ts and index.d.cts, each with its own copy of every class; a
// project whose files resolve orsa in both modes then sees two SagaDefinition classes with
// "separate declarations of a private property". Instead, tsc writes the declarations once to
// dist/types, marked CommonJS by its own package.json (CJS declarations can be imported from both
// ESM and CJS files), and each entry's .d.ts (ESM) and .d.cts (CJS) re-exports them.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

rmSync(dist, { recursive: true, force: true });
run(bin('tsup'), []);
run(bin('tsc'), ['-p', 'tsconfig.build.json']);
writeFileSync(join(dist, 'types', 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
const entries = { index: 'index', sqlite: 'sqlite', postgres: 'postgres', store: 'store', testing: 'testing', otel: 'otel' };
for (const [entry, source] of Object.entries(entries)) {
  const body = `export * from './types/${source}.js';\n`;
  writeFileSync(join(dist, `${entry}.d.ts`), body);
  if (entry !== 'testing') writeFileSync(join(dist, `${entry}.d.cts`), body);
}
