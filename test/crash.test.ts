import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { COMPENSABLE } from './fixtures/crash-saga.js';

/**
 * Crash tests with real processes: a worker runs sagas and is killed with
 * SIGKILL at random moments (inside steps, between them, inside
 * compensations, during the durable sleep), 50 times; then a last worker
 * drains the store. Side effects are counted in a table keyed by idempotency
 * key, beside the store.
 */

// At least 50 kills per store; more with ORSA_CRASH_KILLS.
const KILLS = Math.max(50, Number(process.env.ORSA_CRASH_KILLS ?? 50));
let worker: string;

beforeAll(async () => {
  // One bundle, started with plain node: a kill loop pays ~0.1 s per start instead of a TypeScript loader's.
  // It lives under node_modules so that its imports of better-sqlite3, pg and xstate resolve.
  const dir = mkdtempSync(join(import.meta.dirname, '../node_modules/.orsa-crash-'));
  worker = join(dir, 'crash-worker.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'fixtures/crash-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: worker,
    external: ['better-sqlite3', 'pg', 'xstate'],
    logLevel: 'silent',
  });
}, 60_000);

function runWorker(env: Record<string, string>, kill: boolean): Promise<{ killedAfterMs: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killedAfterMs: number | null = null;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      if (kill && killedAfterMs === null && output.includes('ready')) {
        killedAfterMs = Math.floor(Math.random() * 250);
        setTimeout(() => child.kill('SIGKILL'), killedAfterMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (kill && signal === 'SIGKILL') resolve({ killedAfterMs, output });
      else if (!kill && code === 0) resolve({ killedAfterMs: null, output });
      else reject(new Error(`worker exited with ${code ?? signal}:\n${output}`));
    });
  });
}

type Effect = { key: string; saga_id: string; step: string; kind: 'do' | 'undo' };

async function checkInvariants(store: SagaStore, effects: Effect[], sagaCount: number) {
  const records = await store.list({ limit: 100_000 });
  expect(records).toHaveLength(sagaCount);
  const byKey = new Map(effects.map((e) => [e.key, e]));
  let completed = 0;
  let compensated = 0;
  for (const record of records) {
    expect(record.status, `saga ${record.id} ended ${record.status}`).toMatch(/^(completed|compensated)$/);
    const i = Number(record.id.slice(5));
    const { context } = JSON.parse(record.snapshot);
    const done = effects.filter((e) => e.saga_id === record.id && e.kind === 'do');
    const undone = effects.filter((e) => e.saga_id === record.id && e.kind === 'undo');
    if (record.status === 'completed') {
      completed++;
      expect(i % 2, `saga ${record.id} should have failed`).toBe(0);
      // No step result is lost: each result is the one its execution produced.
      for (const step of ['reserve', 'charge', 'label', 'notify', 'track', 'finish']) {
        expect(context.results[step]).toEqual({ key: `${record.id}:${step}#1`, value: `${step}-${i}` });
      }
      expect(undone).toEqual([]);
    } else {
      compensated++;
      expect(i % 2).toBe(1);
      // Every completed execution with a compensation was compensated, once, in reverse order of completion.
      const log: string[] = context.log.map((e: { exec: string }) => e.exec);
      expect(context.compensated).toEqual([...log].reverse());
      for (const exec of log) expect(byKey.get(`${record.id}:${exec}:compensate`)?.kind, `${record.id} ${exec} not undone`).toBe('undo');
      expect(undone).toHaveLength(log.length);
      // And no side effect of a compensable step was left behind without its undo.
      for (const effect of done.filter((e) => COMPENSABLE.has(e.step))) {
        const exec = effect.key.slice(record.id.length + 1);
        expect(log, `${record.id}: ${exec} happened but was never compensated`).toContain(exec);
      }
    }
  }
  return { completed, compensated };
}

async function killLoop(env: Record<string, string>) {
  let kills = 0;
  for (let life = 0; life < KILLS; life++) {
    await runWorker({ ...env, ORSA_CRASH_LIFE: String(life), ORSA_CRASH_BATCH: '3' }, true);
    kills++;
  }
  await runWorker({ ...env, ORSA_CRASH_DRAIN: '1' }, false);
  return { kills, sagas: KILLS * 3 };
}

describe('crash recovery', () => {
  it(`finishes every saga on SQLite after ${KILLS} SIGKILLs, compensating each completed step exactly once`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-crash-sqlite-'));
    const env = { ORSA_CRASH_DB: join(dir, 'sagas.db'), ORSA_CRASH_EFFECTS: join(dir, 'effects.db') };
    const effectsDb = new Database(env.ORSA_CRASH_EFFECTS);
    effectsDb.pragma('journal_mode = WAL');
    effectsDb.exec('CREATE TABLE effects (key TEXT PRIMARY KEY, saga_id TEXT NOT NULL, step TEXT NOT NULL, kind TEXT NOT NULL)');
    const { kills, sagas } = await killLoop(env);
    expect(kills).toBe(KILLS);
    const store = new SqliteStore({ path: env.ORSA_CRASH_DB });
    await store.init();
    const outcome = await checkInvariants(store, effectsDb.prepare('SELECT * FROM effects').all() as Effect[], sagas);
    expect(outcome.completed).toBeGreaterThan(0);
    expect(outcome.compensated).toBeGreaterThan(0);
    await store.close();
    effectsDb.close();
  }, 300_000);

  const url = process.env.ORSA_TEST_PG_URL;
  const ci = Boolean(process.env.CI);
  if (!url && !ci) console.warn('PostgreSQL crash test skipped: set ORSA_TEST_PG_URL to run it');
  it.skipIf(!url && !ci)(`finishes every saga on PostgreSQL after ${KILLS} SIGKILLs, compensating each completed step exactly once`, async () => {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: the PostgreSQL crash test must run in CI');
    const schema = `orsa_crash_${randomBytes(5).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: url });
    try {
      const store = new PostgresStore({ pool, schema });
      await store.init();
      await pool.query(`CREATE TABLE "${schema}".effects (key TEXT PRIMARY KEY, saga_id TEXT NOT NULL, step TEXT NOT NULL, kind TEXT NOT NULL)`);
      const { kills, sagas } = await killLoop({ ORSA_CRASH_PG_URL: url, ORSA_CRASH_SCHEMA: schema });
      expect(kills).toBe(KILLS);
      const { rows } = await pool.query<Effect>(`SELECT * FROM "${schema}".effects`);
      const outcome = await checkInvariants(store, rows, sagas);
      expect(outcome.completed).toBeGreaterThan(0);
      expect(outcome.compensated).toBeGreaterThan(0);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    }
  }, 300_000);
});
