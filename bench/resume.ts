/**
 * Resume after a restart: 10,000 unfinished sagas (half stopped inside a step
 * with their lease run out, half parked on a sleep that has fallen due),
 * taken over by a runtime with default options. One JSON line per store:
 *   { store, scenario, sagas, claimedMs, finishedMs }
 * claimedMs: from start() until it resolved (start's poll claims the backlog);
 * finishedMs: from start() until every saga completed.
 * Then two more lines (bench/resume-heap.ts, bench/resume-cross-process.ts):
 *   { store: 'sqlite', scenario: 'parkedWaits', sagas, heapBytesPerTimedWait, heapBytesPerUntimedWait }
 *   { store: 'postgres', scenario: 'crossProcessEvent', sends, pollIntervalMs,
 *     crossProcessEventP50Ms, crossProcessEventP90Ms, sameProcessEventP50Ms }
 * Run: npm run bench:resume   (BENCH_RESUME_SAGAS=10000, BENCH_SKIP_SQLITE=1, BENCH_HEAP_SAGAS=10000,
 * BENCH_EVENT_SENDS=50; PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL, skipped with a
 * note when unset)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRuntime, createTestClock, saga } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { crossProcessSchema, isCrossProcessWorker, measureCrossProcessEvent, runCrossProcessWorker } from './resume-cross-process.js';
import { measureHeapPerTimedWait } from './resume-heap.js';

const SAGAS = Number(process.env.BENCH_RESUME_SAGAS ?? 10_000);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;
const HEAP_SAGAS = Number(process.env.BENCH_HEAP_SAGAS ?? 10_000);
const EVENT_SENDS = Number(process.env.BENCH_EVENT_SENDS ?? 50);

/** `hold`: the first worker never finishes step a (it is "killed" inside it). */
const definitions = (hold: boolean) => [
  saga('midstep').version('1').input<number>().step('a', ({ input }) => (hold ? new Promise<number>(() => {}) : input)).step('b', ({ results }) => results.a + 1).build(),
  saga('sleeper').version('1').input<number>().step('a', ({ input }) => input).sleep('nap', 50).step('b', ({ results }) => results.a + 1).build(),
];

/** Leaves SAGAS unfinished sagas in the store: half inside step a with an expired lease, half on a due sleep. */
async function prepare(store: SagaStore): Promise<void> {
  // A frozen clock: nothing falls due while the backlog is written (its sleeps and 1 ms leases run out after).
  const clock = createTestClock(Date.now());
  const runtime = createRuntime({ sagas: definitions(true), store, clock, leaseMs: 1, workerId: 'crashed', pollIntervalMs: 3_600_000, onError: () => {} });
  await runtime.start();
  let next = 0;
  const lane = async () => {
    while (next < SAGAS) {
      const i = next++;
      await runtime.startSaga(i % 2 === 0 ? 'midstep' : 'sleeper', i, { id: `r-${i}` });
    }
  };
  await Promise.all(Array.from({ length: 20 }, lane));
  await runtime.stop();
  await new Promise((resolve) => setTimeout(resolve, 100)); // every sleep and lease has run out
}

async function measure(label: string, store: SagaStore, fresh: () => SagaStore): Promise<void> {
  await store.init();
  await prepare(store);
  const unfinished = SAGAS - ((await store.countByStatus()).completed ?? 0);
  if (unfinished !== SAGAS) throw new Error(`the backlog should hold ${SAGAS} unfinished sagas, not ${unfinished}`);
  await store.close();
  const resumed = fresh();
  let completed = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const runtime = createRuntime({
    sagas: definitions(false),
    store: resumed,
    hooks: { onComplete: () => void (++completed === SAGAS && allDone()) },
    onError: (e) => console.error(e),
  });
  const start = process.hrtime.bigint();
  await runtime.start();
  const claimedMs = Number(process.hrtime.bigint() - start) / 1e6;
  await finished;
  const finishedMs = Number(process.hrtime.bigint() - start) / 1e6;
  await runtime.stop();
  await resumed.close();
  console.log(JSON.stringify({ store: label, scenario: 'midstep+dueSleep', sagas: SAGAS, claimedMs: Math.round(claimedMs), finishedMs: Math.round(finishedMs) }));
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-resume-'));
  const path = join(dir, 'orsa.db');
  // Prepared quickly (NORMAL); resumed with the defaults (synchronous FULL).
  if (!process.env.BENCH_SKIP_SQLITE) await measure('sqlite', new SqliteStore({ path, synchronous: 'NORMAL' }), () => new SqliteStore({ path }));
  rmSync(dir, { recursive: true, force: true });
  await measureHeapPerTimedWait(HEAP_SAGAS);
  if (!PG_URL) {
    console.error('PostgreSQL skipped: set ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)');
    return;
  }
  const schema = `orsa_resume_${randomBytes(4).toString('hex')}`;
  try {
    await measure('postgres', new PostgresStore({ connectionString: PG_URL, schema }), () => new PostgresStore({ connectionString: PG_URL, schema }));
  } finally {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  }
  const xproc = crossProcessSchema();
  try {
    await measureCrossProcessEvent(PG_URL, xproc, EVENT_SENDS);
  } finally {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS ${xproc} CASCADE; DROP SCHEMA IF EXISTS ${xproc}_same CASCADE`);
    await pool.end();
  }
}

// The same bundle is the worker child of the cross-process measurement.
void (isCrossProcessWorker ? runCrossProcessWorker() : main());
