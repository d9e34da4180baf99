// Runs a benchmark the way users run orsa: compiled once (esbuild, as the package build does,
// without a TypeScript loader in the measured process), with dependencies from node_modules.
// Usage: node scripts/run-bench.mjs bench/core.ts [args…]
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-bench.mjs bench/<name>.ts [args…]');
  process.exit(2);
}
// Under node_modules, so that the bundle's imports of xstate, better-sqlite3 and pg resolve.
const outDir = join(root, 'node_modules', '.orsa-bench');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, basename(entry).replace(/\.ts$/, '.mjs'));
await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, packages: 'external', logLevel: 'warning' });
// --expose-gc: benches that measure memory (bench/soak.ts) collect garbage before each sample.
const child = spawn(process.execPath, ['--expose-gc', outfile, ...args], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 1));
