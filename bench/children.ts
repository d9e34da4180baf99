/**
 * What a child saga costs: the same two-step payment run on its own
 * (baseline) and run as the one child step of an order (child), on SQLite
 * and PostgreSQL, in the same run. One JSON line per configuration:
 *   { store, shape, sagas, concurrency, sagasPerSec, baselineSagasPerSec, ratio, writesPerSaga, bytesWrittenPerSaga }
 * A child adds the parent's record (its start, the child.started write that unloads it, its wake and end)
 * and the child's parking and release: about 4 more commits per payment.
 * Knobs: BENCH_SAGAS=300 BENCH_CONCURRENCY=20 BENCH_ROUNDS=3.
 * Run: npm run bench:children   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL; skipped without)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRuntime, saga, type SagaDefinition } from '../src/index.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const SAGAS = Number(process.env.BENCH_SAGAS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;

const payment = saga('bench-payment')
  .input<{ n: number }>()
  .step('charge', ({ input }) => ({ chargeId: `ch-${input.n}` }), { compensate: () => {} })
  .step('receipt', ({ results }) => `r-${results.charge.chargeId}`)
  .build();
const order = saga('bench-order')
  .input<{ n: number }>()
  .child('payment', payment, ({ input }) => input)
  .build();

type Store = (SqliteStore | PostgresStore) & { stats(): { bytesWritten: number; writes: number } };

async function measure(makeStore: () => Promise<{ store: Store; done: () => Promise<void> }>, definition: SagaDefinition<{ n: number }, unknown>) {
  const { store, done } = await makeStore();
  // Completions are heard through the hook (result() would add its polling to every saga's time).
  const waiting = new Map<string, () => void>();
  const ended = new Set<string>();
  const completion = (id: string) => (ended.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(id, resolve)));
  const onComplete = (record: { id: string }) => {
    ended.add(record.id);
    waiting.get(record.id)?.();
  };
  const runtime = createRuntime({ sagas: [definition], store, pollIntervalMs: 50, hooks: { onComplete }, onError: (e) => console.error(e) });
  await runtime.start();
  const before = store.stats();
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    for (let n = next++; n < SAGAS; n = next++) {
      const { id } = await runtime.startSaga(definition, { n }, { id: `s-${n}` });
      await completion(id);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  // The children are released by their parents' final writes: count those writes too.
  if (definition === order) for (let n = 0; n < SAGAS; n++) await completion(`s-${n}:payment#1`);
  const seconds = (performance.now() - started) / 1000;
  const after = store.stats();
  await runtime.stop();
  await done();
  return { sagasPerSec: SAGAS / seconds, writesPerSaga: (after.writes - before.writes) / SAGAS, bytesWrittenPerSaga: (after.bytesWritten - before.bytesWritten) / SAGAS };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const stores: [string, () => Promise<{ store: Store; done: () => Promise<void> }>][] = [
  ['sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-children-'));
    return { store: new SqliteStore({ path: join(dir, 'b.db') }) as Store, done: async () => rmSync(dir, { recursive: true, force: true }) };
  }],
];
if (PG_URL) {
  stores.push(['postgres', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: CONCURRENCY });
    const schema = `orsa_bench_children_${randomBytes(4).toString('hex')}`;
    return { store: new PostgresStore({ pool, schema }) as Store, done: async () => (await pool.query(`DROP SCHEMA "${schema}" CASCADE`), await pool.end()) };
  }]);
} else console.error('bench:children: no ORSA_BENCH_PG_URL / ORSA_TEST_PG_URL, PostgreSQL skipped');

for (const [name, make] of stores) {
  const base: Awaited<ReturnType<typeof measure>>[] = [];
  const child: Awaited<ReturnType<typeof measure>>[] = [];
  // Interleaved rounds, so that load on the machine weighs on both alike.
  for (let round = 0; round < ROUNDS; round++) {
    base.push(await measure(make, payment as SagaDefinition<{ n: number }, unknown>));
    child.push(await measure(make, order as SagaDefinition<{ n: number }, unknown>));
  }
  const baselineSagasPerSec = median(base.map((r) => r.sagasPerSec));
  for (const [shape, runs] of [['baseline', base], ['child', child]] as const) {
    const sagasPerSec = median(runs.map((r) => r.sagasPerSec));
    console.log(
      JSON.stringify({
        store: name,
        shape,
        sagas: SAGAS,
        concurrency: CONCURRENCY,
        sagasPerSec: Math.round(sagasPerSec),
        baselineSagasPerSec: Math.round(baselineSagasPerSec),
        ratio: Number((sagasPerSec / baselineSagasPerSec).toFixed(2)),
        writesPerSaga: Number(median(runs.map((r) => r.writesPerSaga)).toFixed(2)),
        bytesWrittenPerSaga: Math.round(median(runs.map((r) => r.bytesWrittenPerSaga))),
      }),
    );
  }
}
