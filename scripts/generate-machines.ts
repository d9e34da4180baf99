/**
 * Writes machines/<name>.json and machines/<name>.mmd for every reference
 * saga, and removes the files of sagas that are gone.
 * Run: npm run machines
 */
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFilesIn, renderMachineFiles } from '../machines/files.js';
import { referenceSagas } from '../machines/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'machines');
const files = renderMachineFiles(referenceSagas);

for (const file of generatedFilesIn(dir)) {
  if (files.has(file)) continue;
  rmSync(join(dir, file));
  console.log(`removed ${relative(process.cwd(), join(dir, file))}`);
}
for (const [file, text] of files) {
  writeFileSync(join(dir, file), text);
  console.log(`wrote   ${relative(process.cwd(), join(dir, file))}`);
}
