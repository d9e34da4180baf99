import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError, createRuntime, saga } from '../src/index.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { StoreUnavailableError } from '../src/durable/transient.js';

const url = process.env.ORSA_TEST_PG_URL;
const ci = Boolean(process.env.CI);
if (!url && !ci) console.warn('PostgreSQL transient-fault test skipped: set ORSA_TEST_PG_URL to run it');
const SAGAS = 300;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Real time on purpose: what is tested is the worker against a real server dropping its connections.
const hopper = saga('hopper')
  .step('one', async () => (await pause(100), 1))
  .step('two', async () => (await pause(100), 2))
  .step('three', async () => (await pause(100), 3))
  .version('1')
  .build();

describe('transient PostgreSQL faults', () => {
  it.skipIf(!url && !ci)(`finishes all ${SAGAS} sagas while the worker's backends are terminated again and again, and reports none corrupt`, async () => {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: set it to the test server URL');
    const schema = `orsa_kill_${randomBytes(5).toString('hex')}`;
    const app = `orsa-kill-${schema}`;
    const admin = new pg.Pool({ connectionString: url, max: 2 });
    const workerUrl = new URL(url);
    workerUrl.searchParams.set('application_name', app);
    const store = new PostgresStore({ connectionString: workerUrl.href, schema });
    const errors: unknown[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const runtime = createRuntime({ sagas: [hopper], store, leaseMs: 1_000, pollIntervalMs: 100, onError: (e) => errors.push(e) });
    let killing = true;
    let terminated = 0;
    try {
      await runtime.start();
      const ids: string[] = [];
      for (let i = 0; i < SAGAS; i++) ids.push((await runtime.startSaga(hopper, undefined, { id: `hop-${i}` })).id);
      const killer = (async () => {
        while (killing) {
          const { rows } = await admin.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`, [app]);
          terminated += rows.filter((r: { ok: boolean }) => r.ok).length;
          await pause(40);
        }
      })();
      const open = async () =>
        Number((await admin.query(`SELECT count(*) AS n FROM "${schema}".sagas WHERE status <> 'completed'`)).rows[0].n);
      // Kill for a while, then let the last lease expiries and reclaims run out.
      for (let i = 0; i < 300 && (await open()) > 0; i++) {
        if (i === 60) killing = false;
        await pause(100);
      }
      killing = false;
      await killer;
      expect(await open()).toBe(0);
      expect(terminated).toBeGreaterThan(5);
      expect(errors.filter((e) => e instanceof CorruptRecordError).map(String)).toEqual([]);
      expect(errors.some((e) => e instanceof StoreUnavailableError)).toBe(true);
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      killing = false;
      process.off('unhandledRejection', onUnhandled);
      await runtime.stop().catch(() => {});
      await store.close().catch(() => {});
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }, 120_000);
});
