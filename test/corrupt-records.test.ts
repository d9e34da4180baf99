import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptRecordError, createRuntime, createTestClock, saga, type SagaStatus } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import type { SagaStore } from '../src/stores/types.js';

const napper = saga('napper')
  .step('a', () => 'a')
  .sleep('nap', 1_000)
  .step('b', () => 'b')
  .version('1')
  .build();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A SQLite file holding one saga asleep in `nap`; returns its path and that snapshot. */
async function sleepingSaga(): Promise<{ path: string; snapshot: Record<string, any>; clock: ReturnType<typeof createTestClock> }> {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-corrupt-'));
  dirs.push(dir);
  const path = join(dir, 'orsa.db');
  const clock = createTestClock();
  const store = new SqliteStore({ path });
  const runtime = createRuntime({ sagas: [napper], store, clock, onError: () => {} });
  const { id } = await runtime.startSaga(napper, undefined, { id: 'template' });
  await clock.advance(10);
  await runtime.stop();
  const record = (await store.get(id))!;
  expect(record.status).toBe('waiting');
  await store.close();
  return { path, snapshot: JSON.parse(record.snapshot), clock };
}

/** Every column of every saga row, straight from the file. */
function rows(path: string): Map<string, unknown> {
  const db = new Database(path, { readonly: true });
  try {
    return new Map(db.prepare('SELECT * FROM orsa_sagas').all().map((row) => [(row as { id: string }).id, row]));
  } finally {
    db.close();
  }
}

async function insert(store: SagaStore, id: string, snapshot: string, status: string, now: number): Promise<void> {
  await store.insert({ id, sagaName: 'napper', version: '1', status: status as SagaStatus, snapshot, dueAt: now, owner: null, leaseUntil: null, now }, [
    { at: now, type: 'saga.started' },
  ]);
}

const POISONS: Record<string, (s: Record<string, any>) => unknown> = {
  'a state the chart does not have': (s) => ({ ...s, value: 'nowhere' }),
  'XState status "error"': (s) => ({ ...s, status: 'error' }),
  'an unknown step in context.active': (s) => ({ ...s, context: { ...s.context, active: { ghost: { exec: 'ghost#1', attempt: 1 } } } }),
  'a number for a state value': (s) => ({ ...s, value: 42 }),
  'a due time that is not a number': (s) => ({ ...s, context: { ...s.context, timers: { nap: null } } }),
  'truncated JSON': (s) => JSON.stringify(s).slice(0, 40),
  // A cancelled saga draining with nothing under way: resumed, it waited for ever (neither ran nor was reported).
  'draining with no step under way': (s) => ({
    ...s,
    value: { rollback: 'draining' },
    context: { ...s.context, active: {}, timers: {}, cancelled: true, rollingBack: true, failure: { step: null, error: { name: 'SagaCancelled', code: 'SAGA_CANCELLED', message: 'the saga was cancelled' } } },
  }),
};

describe('corrupt records', () => {
  it('reports each unreadable record once per worker, never changes a byte of it (row_version included) across worker starts, and runs the healthy ones', async () => {
    const { path, snapshot, clock } = await sleepingSaga();
    const store = new SqliteStore({ path });
    await store.init();
    const now = clock.now();
    for (const [i, poison] of Object.values(POISONS).entries()) {
      const bad = poison({ ...snapshot, context: { ...snapshot.context, sagaId: `bad-${i}` } });
      await insert(store, `bad-${i}`, typeof bad === 'string' ? bad : JSON.stringify(bad), 'waiting', now);
    }
    await insert(store, 'healthy', JSON.stringify({ ...snapshot, context: { ...snapshot.context, sagaId: 'healthy' } }), 'waiting', now);
    const before = rows(path);
    for (let start = 0; start < 3; start++) {
      const errors: unknown[] = [];
      const runtime = createRuntime({ sagas: [napper], store, clock, pollIntervalMs: 100, onError: (e) => errors.push(e) });
      await runtime.start();
      for (let i = 0; i < 20; i++) await clock.advance(100); // twenty polls
      await runtime.stop();
      const reported = errors.map((e) => (e instanceof CorruptRecordError ? e.sagaId : `not corrupt: ${String(e)}`)).sort();
      expect(reported).toEqual(Object.keys(POISONS).map((_, i) => `bad-${i}`));
      for (const [id, row] of before) if (id.startsWith('bad-')) expect(rows(path).get(id)).toEqual(row);
    }
    expect((await store.get('healthy'))?.status).toBe('completed');
    expect((await store.get('template'))?.status).toBe('completed');
    await store.close();
  });

  it('reports a status value orsa does not write once per worker, leaves it out of counts(), and leaves the record as it was', async () => {
    const { path, snapshot, clock } = await sleepingSaga();
    const store = new SqliteStore({ path });
    await store.init();
    await insert(store, 'odd', JSON.stringify({ ...snapshot, context: { ...snapshot.context, sagaId: 'odd' } }), 'paused', clock.now());
    const before = rows(path).get('odd');
    for (let start = 0; start < 2; start++) {
      const errors: unknown[] = [];
      const runtime = createRuntime({ sagas: [napper], store, clock, onError: (e) => errors.push(e) });
      await runtime.start();
      const counts = await runtime.counts();
      await runtime.counts();
      await runtime.stop();
      expect(Object.keys(counts).sort()).toEqual(['cancelled', 'compensated', 'compensating', 'completed', 'failed', 'queued', 'running', 'waiting']);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1); // the template saga only
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(CorruptRecordError);
      expect((errors[0] as CorruptRecordError).sagaId).toBe('odd');
      expect((errors[0] as CorruptRecordError).message).toContain('"paused" is not one orsa writes');
    }
    expect(rows(path).get('odd')).toEqual(before);
    await store.close();
  });
});
