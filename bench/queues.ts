/**
 * What a queue costs a saga: N short sagas (3 steps) started at once and run
 * to the end through one runtime, with `.limits({ concurrency })` (each start
 * is stored queued, then promoted) and, as the baseline in the same run, the
 * same saga without limits (started at once). One JSON line per store and
 * configuration:
 *   { store, sagas, concurrency, sagasPerSec, baselineSagasPerSec, ratio, maxActive }
 * maxActive is the most sagas seen between their first and last step (it
 * must not exceed `concurrency`).
 * Run: npm run bench:queues   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRuntime, saga } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const SAGAS = Number(process.env.BENCH_SAGAS ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;

function definition(concurrency: number | null, seen: { active: number; max: number }) {
  const b = saga(concurrency === null ? 'plain' : `limited${concurrency}`).input<{ n: number }>();
  const limited = concurrency === null ? b : b.limits({ concurrency });
  return limited
    .step('a', ({ input }) => {
      seen.max = Math.max(seen.max, ++seen.active);
      return input.n;
    })
    .step('b', ({ results }) => results.a + 1)
    .step('c', () => void seen.active--)
    .build();
}

async function once(store: SagaStore, concurrency: number | null): Promise<{ perSec: number; max: number }> {
  const seen = { active: 0, max: 0 };
  const def = definition(concurrency, seen);
  const runtime = createRuntime({ sagas: [def], store, pollIntervalMs: 200, onError: (e) => console.error(e) });
  await runtime.start();
  const started = performance.now();
  const ids = await Promise.all(Array.from({ length: SAGAS }, (_, n) => runtime.startSaga(def, { n }).then((r) => r.id)));
  await Promise.all(ids.map((id) => runtime.result(id)));
  const perSec = (SAGAS / (performance.now() - started)) * 1000;
  await runtime.stop();
  return { perSec, max: seen.max };
}

async function run(name: string, make: () => Promise<{ store: SagaStore; done: () => Promise<void> }>): Promise<void> {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const concurrency of [10, 50]) {
    const limited: number[] = [];
    const base: number[] = [];
    let maxActive = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate, so load that changes during the run falls on both alike.
      for (const which of r % 2 ? ['base', 'limited'] : ['limited', 'base']) {
        const { store, done } = await make();
        try {
          const result = await once(store, which === 'base' ? null : concurrency);
          if (which === 'base') base.push(result.perSec);
          else {
            limited.push(result.perSec);
            maxActive = Math.max(maxActive, result.max);
          }
        } finally {
          await done();
        }
      }
    }
    const sagasPerSec = median(limited);
    const baselineSagasPerSec = median(base);
    console.log(JSON.stringify({ store: name, sagas: SAGAS, concurrency, sagasPerSec: Math.round(sagasPerSec), baselineSagasPerSec: Math.round(baselineSagasPerSec), ratio: +(sagasPerSec / baselineSagasPerSec).toFixed(2), maxActive }));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-queues-'));
try {
  await run('sqlite', async () => {
    const path = join(dir, `${randomBytes(4).toString('hex')}.db`);
    const store = new SqliteStore({ path, synchronous: 'NORMAL' });
    return { store, done: async () => store.close() };
  });
  if (PG_URL) {
    await run('postgres', async () => {
      const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
      const schema = `orsa_bench_q_${randomBytes(4).toString('hex')}`;
      const store = new PostgresStore({ pool, schema });
      return { store, done: async () => (await store.close(), await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`), await pool.end()) };
    });
  } else console.error('bench:queues: no ORSA_BENCH_PG_URL/ORSA_TEST_PG_URL, PostgreSQL skipped');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
