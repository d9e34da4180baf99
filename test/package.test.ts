import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as a user gets it: built, packed with `npm pack`, installed into a fresh project
// (the tarball from disk, its dependencies from the registry's cache when it has them).
const root = join(import.meta.dirname, '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const work = mkdtempSync(join(tmpdir(), 'orsa-consumer-'));
const consumer = join(work, 'app');
let tarball = '';

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
  }
}

const packageFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('package.json') || f.endsWith('.node'));

beforeAll(() => {
  run(process.execPath, [join(root, 'scripts', 'build.mjs')], root);
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root)) as { filename: string }[];
  tarball = join(work, packed[0]!.filename);
  cpSync(join(root, 'test', 'fixtures', 'consumer'), consumer, { recursive: true });
  const typesNode = (JSON.parse(run('npm', ['ls', '@types/node', '--json', '--depth=0'], root)) as { dependencies: Record<string, { version: string }> })
    .dependencies['@types/node']!.version;
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { orsa: `file:${tarball}`, '@types/node': typesNode } }),
  );
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'], consumer);
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the published package', () => {
  it('installs no native module and no database driver for a project that imports only orsa', () => {
    const modules = join(consumer, 'node_modules');
    expect(existsSync(join(modules, 'orsa', 'package.json'))).toBe(true);
    expect(existsSync(join(modules, 'better-sqlite3'))).toBe(false);
    expect(existsSync(join(modules, 'pg'))).toBe(false);
    expect(packageFiles(modules).filter((f) => f.endsWith('.node'))).toEqual([]);
  });

  it('passes publint', () => {
    expect(run(bin('publint'), ['run', tarball, '--strict'], root)).toMatch(/All good/);
  }, 120_000);

  it('passes arethetypeswrong for node16 and bundlers, orsa/testing as ESM only', () => {
    // Exit code 0 means no problem was found for the resolutions of the profile.
    run(bin('attw'), [tarball, '--profile', 'node16', '--exclude-entrypoints', './testing', '--format', 'ascii'], root);
    run(bin('attw'), [tarball, '--profile', 'esm-only', '--entrypoints', './testing', '--format', 'ascii'], root);
  }, 120_000);

  it('type-checks in a consumer with skipLibCheck false, ESM and CJS files sharing one SagaDefinition, without driver @types', () => {
    expect(existsSync(join(consumer, 'node_modules', '@types', 'better-sqlite3'))).toBe(false);
    expect(existsSync(join(consumer, 'node_modules', '@types', 'pg'))).toBe(false);
    // Emits too: the specs below run what the consumer compiled.
    run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit', 'false', '--outDir', 'out'], consumer);
    run(bin('tsc'), ['-p', 'tsconfig.bundler.json'], consumer);
  }, 180_000);

  it('publishes declarations without @internal members', () => {
    const types = join(consumer, 'node_modules', 'orsa', 'dist', 'types');
    const definition = readFileSync(join(types, 'interpretation', 'definition.d.ts'), 'utf8');
    expect(definition).toContain('class SagaDefinition');
    expect(definition).not.toContain('isRetryable');
    expect(definition).not.toContain('@internal');
  });

  it('runs a saga with compensation from ESM, and names the package to install for the default store', () => {
    const out = JSON.parse(run(process.execPath, ['out/esm.mjs'], consumer)) as Record<string, unknown>;
    expect(out).toMatchObject({ undone: ['charge', 'reserve'], status: 'compensated', mermaid: true, described: expect.stringMatching(/^order@[0-9a-f]{16}$/) });
    expect(out.missing).toMatchObject({ code: 'DRIVER_MISSING', message: expect.stringContaining('npm install better-sqlite3') });
  });

  it('works under require(), and names the package to install for PostgreSQL', () => {
    const out = JSON.parse(run(process.execPath, ['out/cjs.cjs'], consumer)) as Record<string, unknown>;
    expect(out).toEqual({ attempts: 1, failed: true, pg: expect.stringContaining('npm install pg') });
  });

  it('does not retry a NonRetryableError made by the ESM copy of orsa under its CJS copy in one process', () => {
    const out = JSON.parse(run(process.execPath, ['dual.mjs'], consumer)) as Record<string, unknown>;
    expect(out).toEqual({ copies: true, attempts: 1, cjsSeesEsm: true, esmSeesCjsFailure: true, retryable: false });
  });
});
