import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkMachineFiles, generatedFilesIn, REGENERATE, renderMachineFiles, type MachineFile } from '../machines/files.js';
import { referenceSagas } from '../machines/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'machines');

describe('machines/', () => {
  const temps: string[] = [];
  afterEach(() => temps.splice(0).forEach((t) => rmSync(t, { recursive: true, force: true })));
  /** A folder as `npm run machines` writes it, so these specs do not depend on machines/ being fresh. */
  const freshCopy = () => {
    const temp = mkdtempSync(join(tmpdir(), 'orsa-machines-'));
    temps.push(temp);
    for (const [file, text] of renderMachineFiles(referenceSagas)) writeFileSync(join(temp, file), text);
    expect(checkMachineFiles(temp, referenceSagas)).toEqual([]);
    return temp;
  };

  it('holds a .json and a .mmd for every reference saga, and nothing else generated', () => {
    const expected = referenceSagas.flatMap((d) => [`${d.name}.json`, `${d.name}.mmd`]).sort();
    expect(generatedFilesIn(dir)).toEqual(expected);
  });

  it('is fresh: every statechart file matches its saga as declared today', () => {
    const problems = checkMachineFiles(dir, referenceSagas);
    // The message lists each stale file and says how to fix it.
    expect(problems, `\n${problems.join('\n')}`).toEqual([]);
  });

  it('fails when a statechart file is stale', () => {
    const temp = freshCopy();
    const file = join(temp, `${referenceSagas[0]!.name}.json`);
    // As if the saga had changed since the file was written.
    writeFileSync(file, readFileSync(file, 'utf8').replace(/"version": "[^"]*"/, '"version": "0000000000000000"'));
    const problems = checkMachineFiles(temp, referenceSagas);
    expect(problems).toEqual([`${file} is stale (its saga changed): run ${REGENERATE}`]);
    expect(REGENERATE).toBe('npm run machines');
  });

  it('fails when a statechart file is missing or belongs to no saga', () => {
    const temp = freshCopy();
    const mmd = join(temp, `${referenceSagas[0]!.name}.mmd`);
    rmSync(mmd);
    writeFileSync(join(temp, 'gone.json'), '{}\n');
    const problems = checkMachineFiles(temp, referenceSagas);
    expect(problems).toEqual([
      `${mmd} is missing: run npm run machines`,
      `${join(temp, 'gone.json')} belongs to no reference saga: run npm run machines to remove it`,
    ]);
  });

  describe.each(referenceSagas.map((d) => [d.name, d] as const))('%s', (name, definition) => {
    const stored = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as MachineFile;

    it('stores the compiled config, which parses back to exactly definition.config', () => {
      expect(stored.config).toStrictEqual(definition.config);
    });

    it('has a config that is plain JSON (a JSON round trip changes nothing)', () => {
      expect(JSON.parse(JSON.stringify(definition.config))).toStrictEqual(definition.config);
    });

    it('records the name and the definition version beside the config', () => {
      expect(stored.name).toBe(definition.name);
      expect(stored.version).toBe(definition.version);
      expect(stored.version).toMatch(/^[0-9a-f]{16}$/);
    });

    it('has a Mermaid diagram of the same chart', () => {
      const mmd = readFileSync(join(dir, `${name}.mmd`), 'utf8');
      expect(mmd).toContain(`title: ${name}`);
      expect(mmd).toContain('stateDiagram-v2');
    });
  });
});
