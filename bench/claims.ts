/**
 * What judging records inside the claim costs: claiming N waiting sagas of a
 * real snapshot in batches, with the runtime's judge (`accept`: parse and
 * validate each snapshot against its chart, inside the claim transaction) and,
 * as the baseline in the same run, without a judge. One JSON line per store:
 *   { store, records, batch, claimedPerSec, baselineClaimedPerSec, ratio }
 * Run: npm run bench:claims   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createRuntime, createTestClock, MemoryStore } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { RecordGate } from '../src/durable/claims.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { order } from '../machines/order.saga.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 2_000);
const BATCH = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;

/** A real snapshot of the order saga, asleep in its pickup window. */
async function waitingSnapshot(): Promise<string> {
  const clock = createTestClock();
  const store = new MemoryStore();
  let snapshot = '';
  const runtime = createRuntime({ sagas: [order], store, clock, hooks: { onStore: (r) => void (r.status === 'waiting' && (snapshot ||= r.snapshot)) } });
  const { id } = await runtime.startSaga(order, { orderId: 'b', sku: 'mug', quantity: 1, amountCents: 100 });
  await runtime.send(id, 'order.confirmed', { confirmedBy: 'bench' });
  for (let i = 0; i < 200 && !snapshot; i++) await (clock.advance(20), new Promise((r) => setTimeout(r, 5)));
  await runtime.stop();
  return snapshot;
}

async function claimAll(store: SagaStore, prefix: string, judged: boolean, gate: RecordGate): Promise<number> {
  const started = performance.now();
  let claimed = 0;
  // A new owner per batch: a claimer may take back its own leases, so one owner would loop forever.
  for (let n = 0; ; n++) {
    const now = Date.now();
    const batch = await store.claim({ owner: `bench-${prefix}${n}`, now, leaseUntil: now + 60_000, limit: BATCH, sagaNames: [`${order.name}`], versions: [order.version], excludeIds: [], ...(judged ? { accept: gate.accept } : {}) });
    const mine = batch.filter((r) => r.id.startsWith(prefix));
    claimed += mine.length;
    if (batch.length === 0) break;
  }
  return (claimed / (performance.now() - started)) * 1000;
}

async function run(name: string, make: () => Promise<{ store: SagaStore; done: () => Promise<void> }>, template: string): Promise<void> {
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const judgedRates: number[] = [];
  const baseRates: number[] = [];
  const gate = new RecordGate(() => order, (e) => {
    throw e;
  });
  if (!template) throw new Error('no waiting snapshot of the order saga was captured');
  for (let round = 0; round < ROUNDS; round++) {
    for (const judged of [false, true]) {
      const { store, done } = await make();
      await store.init();
      const prefix = `r${round}${judged ? 'j' : 'b'}-`;
      for (let i = 0; i < RECORDS; i++) {
        const id = `${prefix}${i}`;
        const snapshot = template.replace(/"sagaId":"[^"]*"/, `"sagaId":"${id}"`);
        await store.insert({ id, sagaName: order.name, version: order.version, status: 'waiting', snapshot, dueAt: 0, owner: null, leaseUntil: null, now: 0 }, []);
      }
      (judged ? judgedRates : baseRates).push(await claimAll(store, prefix, judged, gate));
      await done();
    }
  }
  const claimedPerSec = Math.round(median(judgedRates));
  const baselineClaimedPerSec = Math.round(median(baseRates));
  console.log(JSON.stringify({ store: name, records: RECORDS, batch: BATCH, claimedPerSec, baselineClaimedPerSec, ratio: +(claimedPerSec / baselineClaimedPerSec).toFixed(2) }));
}

const template = await waitingSnapshot();
await run('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-claims-'));
  return { store: new SqliteStore({ path: join(dir, 'b.db'), synchronous: 'NORMAL' }), done: async () => rmSync(dir, { recursive: true, force: true }) };
}, template);
if (PG_URL) {
  await run('postgres', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
    const schema = `orsa_bench_${randomBytes(5).toString('hex')}`;
    const store = new PostgresStore({ pool, schema });
    return { store, done: async () => (await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`), await pool.end()) };
  }, template);
} else console.log(JSON.stringify({ store: 'postgres', skipped: 'set ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL' }));
