import { bundleWorker, runWorker as runWorkerFixture } from './fixtures/kill-loop.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

/**
 * A saga with a child saga and a map survives SIGKILL: real worker processes
 * run 3 orders that complete and 3 that fail after their payment child and
 * their map of line items completed, and are killed at random moments (in
 * steps, in the child, in map items, in compensations); a last worker drains
 * the store. Side effects are counted by idempotency key in a SQLite table
 * beside the store. A compensation killed before its end was stored runs again
 * in the next worker under the same idempotency key (at least once; a keyed
 * service undoes it once); never twice within one worker.
 */

const KILLS = Math.max(12, Number(process.env.ORSA_COMPOSED_KILLS ?? 12));
const LINES = 10;
let worker: string;

beforeAll(async () => {
  worker = await bundleWorker('composed-crash-worker');
}, 60_000);

const runWorker = (env: Record<string, string>, killAfter: number | null) => runWorkerFixture(worker, env, killAfter, true);

type Run = { key: string; kind: 'do' | 'undo'; n: number };

async function crashAndCheck(store: SagaStore, env: Record<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-composed-crash-'));
  const effectsPath = join(dir, 'effects.db');
  const effects = new Database(effectsPath);
  effects.pragma('journal_mode = WAL');
  effects.exec('CREATE TABLE runs (key TEXT PRIMARY KEY, kind TEXT NOT NULL, n INTEGER NOT NULL)');
  effects.exec('CREATE TABLE trace (key TEXT NOT NULL, pid INTEGER NOT NULL, at INTEGER NOT NULL)');
  const all = { ...env, ORSA_COMPOSED_EFFECTS: effectsPath };
  await store.init();
  const unfinished: number[] = [];
  for (let life = 0; life < KILLS; life++) {
    // The first life is killed before an order can end (~315 ms of steps), so that the kills find work under
    // way: killed later, it could finish every order and leave nothing to recover (1 run in 8 did).
    await runWorker({ ...all, ORSA_COMPOSED_START: life === 0 ? '1' : '0' }, 50 + Math.floor(Math.random() * (life === 0 ? 200 : 350)));
    unfinished.push((await store.list({ status: ['running', 'waiting', 'compensating'], limit: 100 })).length);
  }
  // The kills landed while sagas were under way (not after everything had ended).
  expect(unfinished.filter((n) => n > 0).length, `unfinished after each kill: ${unfinished}`).toBeGreaterThanOrEqual(2);
  await runWorker({ ...all, ORSA_COMPOSED_DRAIN: '1' }, null);

  const runs = new Map((effects.prepare('SELECT key, kind, n FROM runs').all() as Run[]).map((r) => [r.key, r]));
  // A compensation that ran and was killed before its end was stored runs again after the kill, under the same
  // idempotency key (so a keyed service applies it once); never twice in one worker's life.
  const sameLife = effects.prepare('SELECT key, pid, COUNT(*) AS n FROM trace GROUP BY key, pid HAVING COUNT(*) > 1').all();
  expect(sameLife, 'a compensation ran twice in one worker').toEqual([]);
  effects.close();
  const records = await store.list({ limit: 1000 });
  // 6 parents and their 6 payment children, every one final.
  expect(records).toHaveLength(12);
  const byId = new Map(records.map((r) => [r.id, r]));
  for (let i = 0; i < 3; i++) {
    const ok = byId.get(`ok-${i}`)!;
    const okChild = byId.get(`ok-${i}:payment#1`)!;
    expect(ok.status, `ok-${i}`).toBe('completed');
    expect(okChild).toMatchObject({ status: 'completed', parentId: `ok-${i}` });
    // Results intact: each names the execution that produced it, the child's results are the step's result, the map's in item order.
    const results = JSON.parse(ok.snapshot).context.results;
    expect(results.open.key).toBe(`ok-${i}:open#1`);
    expect(results.payment).toEqual({ authorise: { key: `ok-${i}:payment#1:authorise#1` }, capture: { key: `ok-${i}:payment#1:capture#1` } });
    expect(results.lines).toEqual(Array.from({ length: LINES }, (_, j) => ({ reserve: { key: `ok-${i}:lines[${j}]:reserve#1` } })));
    expect(results.confirm.key).toBe(`ok-${i}:confirm#1`);
    for (const key of [`ok-${i}:open#1`, `ok-${i}:payment#1:authorise#1`, `ok-${i}:payment#1:capture#1`, `ok-${i}:confirm#1`]) {
      expect(runs.get(key)?.n, key).toBeGreaterThanOrEqual(1);
    }

    const bad = byId.get(`bad-${i}`)!;
    expect(bad.status, `bad-${i}`).toBe('compensated');
    // The parent rolled back past a completed child: the child's own steps were undone and it ended compensated.
    expect(byId.get(`bad-${i}:payment#1`)).toMatchObject({ status: 'compensated', parentId: `bad-${i}` });
    const context = JSON.parse(bad.snapshot).context;
    expect(context.failure?.step).toBe('confirm');
    const expected = [`bad-${i}:open#1`, `bad-${i}:payment#1:authorise#1`, `bad-${i}:payment#1:capture#1`, ...Array.from({ length: LINES }, (_, j) => `bad-${i}:lines[${j}]:reserve#1`)];
    // Every completed compensable execution (parent step, child steps, map item steps) was undone, by its own key.
    for (const key of expected) {
      expect(runs.get(key)?.n, `${key} ran`).toBeGreaterThanOrEqual(1);
      expect(runs.get(`${key}:compensate`)?.n, `${key} undone`).toBeGreaterThanOrEqual(1);
    }
  }
  for (const [key, run] of runs) {
    // Nothing of a completed order was undone, every undo names a completed execution (one key per execution,
    // so a keyed service undoes it at most once), and no effect of a failed order was left behind.
    if (run.kind === 'undo') {
      expect(key.startsWith('bad-'), `${key} undone in a completed order`).toBe(true);
      expect(runs.get(key.slice(0, -':compensate'.length))?.kind, `${key} undoes no execution that ran`).toBe('do');
    } else if (key.startsWith('bad-')) {
      expect(runs.get(`${key}:compensate`)?.n, `${key} happened but was never compensated`).toBeGreaterThanOrEqual(1);
    }
  }
}

describe('crash recovery of a saga with a child and a map (SIGKILL)', () => {
  it(`SQLite: ${KILLS} kills, then a drain: every parent and child final, results intact, each completed execution undone, by its own key`, { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-composed-sqlite-'));
    const db = join(dir, 'sagas.db');
    const store = new SqliteStore({ path: db });
    try {
      await crashAndCheck(store, { ORSA_COMPOSED_DB: db });
    } finally {
      await store.close();
    }
  });

  const url = process.env.ORSA_TEST_PG_URL;
  it.skipIf(!url && !process.env.CI)(`PostgreSQL: ${KILLS} kills, then a drain: the same invariants`, async () => {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: the PostgreSQL crash test must run in CI');
    const schema = `orsa_composed_${randomBytes(5).toString('hex')}`;
    const pool = new pg.Pool({ connectionString: url });
    const store = new PostgresStore({ pool, schema });
    try {
      await store.init();
      await crashAndCheck(store, { ORSA_COMPOSED_PG_URL: url, ORSA_COMPOSED_SCHEMA: schema });
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    }
  }, 300_000);
});
