/**
 * What schedules cost a worker. Two measures per store, one JSON line each:
 * - every poll reads the schedules and works out which tick is due: the time
 *   of one `fire()` with N stored schedules of which none is due, beside the
 *   baseline of reading them alone (`store.schedules!.list()`), and the query a
 *   poll made before schedules (`store.nextDueAt`) for scale, in the same run:
 *   { store, measure: 'poll', schedules, msPerFire, baselineMsPerList, ratio, msPerNextDueAt }
 * - N schedules falling due at once: sagas started per second by `fire()`,
 *   beside `startSaga` of the same saga N times (the baseline):
 *   { store, measure: 'ticks', schedules, ticksPerSec, baselineStartsPerSec, ratio }
 * Run: npm run bench:schedules   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, createTestClock, MemoryStore, saga } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { SagaRegistry } from '../src/durable/registry.js';
import { Scheduler } from '../src/durable/scheduler.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;
const SIZES = [10, 100, 1_000];
const TICKS = Number(process.env.BENCH_TICKS ?? 300);
const REPEAT = 30;

const report = saga('bench-report')
  .input<{ n: number }>()
  .step('render', ({ input }) => input.n)
  .build();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeMs(task: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const started = performance.now();
    await task();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

async function poll(name: string, store: SagaStore): Promise<void> {
  const clock = createTestClock(Date.parse('2026-01-01T00:00:30Z'));
  const scheduler = new Scheduler({ store, clock, sagas: new SagaRegistry([report]), graceMs: 60_000, maxInputBytes: 1 << 20, start: async () => ({}), report: (e) => { throw e; }, running: () => true });
  let stored = 0;
  for (const size of SIZES) {
    for (; stored < size; stored++) {
      await store.schedules!.put({ name: `poll-${stored}`, sagaName: report.name, cron: `${stored % 60} ${stored % 24} * * *`, timezone: stored % 2 ? 'Europe/Berlin' : 'UTC', input: '{"n":1}', missed: 'skip' }, clock.now());
    }
    await scheduler.fire(); // parse each cron once, as a running worker has
    const msPerFire = await timeMs(() => scheduler.fire());
    const baselineMsPerList = await timeMs(() => store.schedules!.list());
    const msPerNextDueAt = await timeMs(() => store.nextDueAt([report.name]));
    console.log(JSON.stringify({ store: name, measure: 'poll', schedules: size, msPerFire: round(msPerFire), baselineMsPerList: round(baselineMsPerList), ratio: round(msPerFire / baselineMsPerList), msPerNextDueAt: round(msPerNextDueAt) }));
  }
  for (let i = 0; i < stored; i++) await store.schedules!.remove(`poll-${i}`);
}

async function ticks(name: string, store: SagaStore): Promise<void> {
  const clock = createTestClock(Date.parse('2026-01-01T00:00:00Z'));
  const runtime = createRuntime({ sagas: [report], store, clock, pollIntervalMs: 3_600_000, leaseMs: 3_600_000 });
  await runtime.start();
  let started = performance.now();
  for (let i = 0; i < TICKS; i++) await runtime.startSaga(report, { n: i }, { id: `baseline-${i}` });
  const baselineStartsPerSec = TICKS / ((performance.now() - started) / 1000);
  await runtime.stop();
  for (let i = 0; i < TICKS; i++) await store.schedules!.put({ name: `tick-${i}`, sagaName: report.name, cron: '* * * * *', timezone: 'UTC', input: JSON.stringify({ n: i }), missed: 'skip' }, clock.now());
  await clock.advance(60_000);
  const firing = createRuntime({ sagas: [report], store, clock, pollIntervalMs: 3_600_000, leaseMs: 3_600_000 });
  started = performance.now();
  await firing.start(); // its first poll fires the minute's tick of every schedule
  const ticksPerSec = TICKS / ((performance.now() - started) / 1000);
  const fired = (await store.list({ sagaName: report.name, limit: 10 * TICKS })).filter((r) => r.id.startsWith('tick-')).length;
  await firing.stop();
  if (fired !== TICKS) throw new Error(`${fired} of ${TICKS} ticks started`);
  console.log(JSON.stringify({ store: name, measure: 'ticks', schedules: TICKS, ticksPerSec: Math.round(ticksPerSec), baselineStartsPerSec: Math.round(baselineStartsPerSec), ratio: round(ticksPerSec / baselineStartsPerSec) }));
}

const round = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const stores: [string, () => Promise<{ store: SagaStore; done: () => Promise<void> }>][] = [
    ['memory', async () => ({ store: new MemoryStore(), done: async () => {} })],
    [
      'sqlite',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-schedules-'));
        const store = new SqliteStore({ path: join(dir, 'orsa.db') });
        return { store, done: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
      },
    ],
  ];
  if (PG_URL) {
    stores.push([
      'postgres',
      async () => {
        const schema = `orsa_bench_sched_${randomBytes(4).toString('hex')}`;
        const store = new PostgresStore({ connectionString: PG_URL, schema });
        return {
          store,
          done: async () => {
            await store.close();
            const pg = (await import('pg')).default;
            const admin = new pg.Client({ connectionString: PG_URL });
            await admin.connect();
            await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            await admin.end();
          },
        };
      },
    ]);
  } else console.error('postgres skipped: set ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL');
  for (const [name, make] of stores) {
    const { store, done } = await make();
    await store.init();
    try {
      await poll(name, store);
      await ticks(name, store);
    } finally {
      await done();
    }
  }
}

await main();
