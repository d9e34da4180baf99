import { bundleWorker, runWorker as runWorkerFixture } from './fixtures/kill-loop.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/stores/sqlite/store.js';

/**
 * A map survives SIGKILL: a worker is killed mid-map (several times), other
 * workers take the saga over and finish it. Each item's step is counted by
 * idempotency key as it runs to completion.
 */

const KILLS = 6;
const ITEMS = 60;
const CONCURRENCY = 5;
let worker: string;

beforeAll(async () => {
  worker = await bundleWorker('map-crash-worker');
}, 60_000);

const runWorker = (env: Record<string, string>, killAfter: number | null) => runWorkerFixture(worker, env, killAfter);

describe('map crash recovery', () => {
  it(`finishes a map killed ${KILLS} times mid-way: every item result intact, each completed item step undone on rollback (again only after a kill)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-map-crash-'));
    const env = { ORSA_MAP_DB: join(dir, 'sagas.db'), ORSA_MAP_EFFECTS: join(dir, 'effects.db') };
    const effects = new Database(env.ORSA_MAP_EFFECTS);
    effects.pragma('journal_mode = WAL');
    effects.exec('CREATE TABLE runs (key TEXT PRIMARY KEY, kind TEXT NOT NULL, n INTEGER NOT NULL)');
    const store = new SqliteStore({ path: env.ORSA_MAP_DB });
    const itemsDone = async () => {
      await store.init();
      const record = await store.get('map-ok');
      return record ? Object.keys(JSON.parse(record.snapshot).context.items ?? {}).length - 1 : 0;
    };
    const progress: number[] = [];
    for (let life = 0; life < KILLS; life++) {
      await runWorker({ ...env, ORSA_MAP_START: life === 0 ? '1' : '0' }, 100 + Math.floor(Math.random() * 200));
      progress.push(await itemsDone());
    }
    await runWorker({ ...env, ORSA_MAP_DRAIN: '1' }, null);
    // The kills landed mid-map: some items had completed and some had not.
    expect(progress.some((n) => n > 0 && n < ITEMS)).toBe(true);

    const runs = new Map((effects.prepare('SELECT key, kind, n FROM runs').all() as { key: string; kind: string; n: number }[]).map((r) => [r.key, r]));
    const ok = (await store.get('map-ok'))!;
    expect(ok.status).toBe('completed');
    const results = JSON.parse(ok.snapshot).context.results;
    expect(results.m).toHaveLength(ITEMS);
    let reruns = 0;
    results.m.forEach((element: { work: { key: string } }, i: number) => {
      const key = `map-ok:m[${i}]:work#1`;
      // Results intact, in item order, each the one its own execution produced.
      expect(element.work.key).toBe(key);
      expect(runs.get(key)?.n).toBeGreaterThanOrEqual(1);
      reruns += runs.get(key)!.n - 1;
    });
    // A completed item is never run again: only the items under way at a kill (at most `concurrency` each time) ran twice.
    expect(reruns).toBeLessThanOrEqual(KILLS * CONCURRENCY);

    const bad = (await store.get('map-bad'))!;
    expect(bad.status).toBe('compensated');
    const context = JSON.parse(bad.snapshot).context;
    const log: string[] = context.log.map((e: { exec: string }) => e.exec);
    expect(context.compensated).toEqual([...log].reverse());
    // Each undone (by idempotency key); a kill between a compensation's effect and its write runs it again
    // after the resume (at-least-once, as for any compensation): at most once per kill.
    let undoneAgain = 0;
    for (const exec of log) {
      const n = runs.get(`map-bad:${exec}:compensate`)?.n ?? 0;
      expect(n, `${exec} undone`).toBeGreaterThanOrEqual(1);
      undoneAgain += n - 1;
    }
    expect(undoneAgain).toBeLessThanOrEqual(KILLS);
    // No item step's effect left behind without its undo.
    for (const [key, run] of runs) {
      if (run.kind !== 'do' || !key.startsWith('map-bad:')) continue;
      expect(log, `${key} happened but was never compensated`).toContain(key.slice('map-bad:'.length));
    }
    expect(log[0]).toBe('open#1');
    expect(context.compensated.at(-1)).toBe('open#1');
    await store.close();
    effects.close();
  }, 300_000);
});
