import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/stores/postgres/store.js';
import type { BatchWrite } from '../src/stores/types.js';

/*
 * A worker's group commit and its lease renewal run on two connections and
 * lock several of its sagas' rows each: both lock them in id order, so one
 * waits for the other instead of deadlocking (a deadlock aborts the whole
 * batch: every saga in it stops until its lease expires). Each spec holds
 * the lowest id in another transaction, lets the statement under test queue
 * behind it, then locks the other ids in id order, as the other statement would.
 */

const url = process.env.ORSA_TEST_PG_URL;
const ci = Boolean(process.env.CI);

describe.skipIf(!url && !ci)('PostgresStore lock order', () => {
  const schema = `orsa_test_lock_${randomBytes(6).toString('hex')}`;
  let pool: pg.Pool;
  let store: PostgresStore;
  let round = 0;
  beforeAll(async () => {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: PostgreSQL specs must run in CI');
    pool = new pg.Pool({ connectionString: url, max: 4 });
    store = new PostgresStore({ pool, schema });
    await store.init();
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  /** Ids inserted highest first, so the table's physical order is the reverse of id order. */
  async function sagas(n: number): Promise<string[]> {
    const r = round++;
    const ids = Array.from({ length: n }, (_, i) => `r${r}-${String(i).padStart(3, '0')}`);
    for (const id of [...ids].reverse()) {
      await store.insert({ id, sagaName: 'locks', version: 'v1', status: 'running', snapshot: '{}', dueAt: null, owner: 'w', leaseUntil: 60_000, now: 0 }, []);
    }
    return ids;
  }

  /** Runs `op` while another transaction locks `ids` in id order, the lowest first and the others once `op` waits. */
  async function againstOrderedLocker<T>(ids: string[], op: () => Promise<T>): Promise<T> {
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`UPDATE "${schema}".sagas SET updated_at = 1 WHERE id = $1`, [ids[0]]);
      let settled = false;
      const running = op().then((value) => ({ value }), (error: unknown) => ({ error })).finally(() => (settled = true));
      for (let waited = false; !waited && !settled; ) {
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
          [`%"${schema}".sagas%`],
        );
        waited = rows[0].n > 0;
      }
      for (const id of ids.slice(1)) await other.query(`UPDATE "${schema}".sagas SET updated_at = 1 WHERE id = $1`, [id]);
      await other.query('COMMIT');
      const outcome = await running;
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    } finally {
      other.release();
    }
  }

  it('a group commit locks its sagas in id order: it waits for a transaction holding the first, and does not deadlock with it', async () => {
    const ids = await sagas(4);
    const writes = ids.map(
      (id): BatchWrite => ({
        kind: 'update',
        id,
        fence: { rowVersion: 1, owner: 'w' },
        patch: { status: 'running', snapshot: '{"n":1}', dueAt: null, leaseUntil: 60_000 },
        history: [{ at: 1, type: 'step.completed', step: 's', attempt: 1 }],
        options: { now: 1 },
      }),
    );
    const outcomes = await againstOrderedLocker(ids, () => store.writeBatch(writes));
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true]);
    for (const id of ids) expect(await store.get(id)).toMatchObject({ snapshot: '{"n":1}', rowVersion: 2 });
  });

  it('a lease renewal locks its sagas in id order too', async () => {
    const ids = await sagas(4);
    const renewed = await againstOrderedLocker(ids, () => store.renew('w', [...ids].reverse(), 90_000, 1));
    expect(renewed.sort()).toEqual(ids);
    for (const id of ids) expect(await store.get(id)).toMatchObject({ leaseUntil: 90_000 });
  });
});
