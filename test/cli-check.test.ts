import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

const fixture = join(import.meta.dirname, 'fixtures', 'check-sagas.mjs');

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { log: (s) => out.push(s), error: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('orsa check', () => {
  it('explores the named saga and prints its counts; exit 0 without violation', async () => {
    const { code, out } = await cli('check', fixture, 'good');
    expect(code).toBe(0);
    expect(out).toMatch(/^good: saga "good" \(version \w+\): \d+ paths, \d+ states, \d+ faults injected; endings: .*\nno violation$/);
  });

  it('prints each violation with its path and exits 1', async () => {
    const { code, out } = await cli('check', fixture, 'leaky');
    expect(code).toBe(1);
    expect(out).toMatch(/\[NOT_UNDONE\] the saga ended compensated, but ship#1 took effect and was never undone/);
    expect(out).toMatch(/path:\n\s+1\. reserve#1 completes\n\s+2\. ship#1 completes\n\s+3\. invoice#1 fails for good/);
  });

  it('exits 1 when maxStates cut the search short, though no violation was seen', async () => {
    const { code, out } = await cli('check', fixture, 'cut');
    expect(code).toBe(1);
    expect(out).toMatch(/truncated at maxStates/);
    expect(out).toMatch(/no violation/);
  });

  it('checks every exported saga when no export is named', async () => {
    const { code, out } = await cli('check', fixture);
    expect(code).toBe(1);
    expect(out).toMatch(/^good: /m);
    expect(out).toMatch(/^leaky: /m);
  });

  it('says what to do with a missing file, a missing export, or a TypeScript file Node cannot load', async () => {
    expect(await cli('check')).toMatchObject({ code: 2, err: expect.stringMatching(/name the module to check/) });
    expect(await cli('check', 'nope.js')).toMatchObject({ code: 2, err: expect.stringMatching(/no file at .*nope\.js/) });
    expect(await cli('check', fixture, 'notASaga')).toMatchObject({ code: 2, err: expect.stringMatching(/no saga exported as "notASaga" \(exports: good, leaky, cut, notASaga\)/) });
    const dir = mkdtempSync(join(tmpdir(), 'orsa-check-'));
    const ts = join(dir, 'broken.ts');
    writeFileSync(ts, 'export const x: number = ;\n');
    expect(await cli('check', ts)).toMatchObject({ code: 2, err: expect.stringMatching(/compile it \(tsc, esbuild\) and check the \.js, or run the CLI through tsx/) });
  });
});
