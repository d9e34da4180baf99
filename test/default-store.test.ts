import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DefaultStore } from '../src/durable/default-store.js';

const root = join(import.meta.dirname, '..');
const cwd = mkdtempSync(join(tmpdir(), 'orsa-default-store-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('the default store', () => {
  it('is SQLite at .orsa/orsa.db in the working directory, opened by start()', () => {
    // A process of its own, so that its working directory is the temporary one.
    const script = join(cwd, 'main.mts');
    writeFileSync(
      script,
      `import { createRuntime, saga } from ${JSON.stringify(pathToFileURL(join(root, 'src', 'index.ts')).href)};
const hello = saga('hello').step('greet', () => 'hi').build();
const runtime = createRuntime({ sagas: [hello], pollIntervalMs: 10 });
const { id } = await runtime.startSaga(hello, undefined, { id: 'h-1' });
console.log(JSON.stringify({ results: await runtime.result(id), kind: runtime.store.constructor.name }));
await runtime.stop();
`,
    );
    const out = execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [script], { cwd, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ results: { greet: 'hi' }, kind: 'DefaultStore' });
    expect(existsSync(join(cwd, '.orsa', 'orsa.db'))).toBe(true);
  }, 60_000);

  it('refuses use before init() and after close(), saying what to call', async () => {
    const store = new DefaultStore();
    await expect(store.get('x')).rejects.toMatchObject({ code: 'STORE_NOT_READY', message: expect.stringContaining('await store.init()') });
    await store.close();
    await expect(store.init()).rejects.toMatchObject({ code: 'STORE_NOT_READY', message: expect.stringContaining('was closed') });
  });
});
