/**
 * What refusing an event past the saga's backlog (EVENT_BACKLOG_FULL) costs a
 * send: `runtime.send` to N stored sagas waiting for the event (after a step
 * whose result is in the snapshot), from a runtime that only sends (as another
 * process would), against, as the baseline in the same run, the store calls
 * a send made before the check (read the record, store the row). One JSON
 * line per store:
 *   { store, sagas, sendsPerSec, baselineSendsPerSec, ratio }
 * Run: node scripts/run-bench.mjs bench/send.ts   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL)
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

/** Waits for its confirmation with no timeout: every send finds it waiting. */
const order = saga('bench-send')
  .step('reserve', ({ input }) => ({ reservation: `r-${(input as { orderId: string }).orderId}`, lines: [{ sku: 'mug', quantity: 1 }] }))
  .waitFor('confirmed', { event: 'order.confirmed' })
  .step('ship', () => 'shipped')
  .build();

const SAGAS = Number(process.env.BENCH_SAGAS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;

async function run(name: string, store: SagaStore, done: () => Promise<void>): Promise<void> {
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  await store.init();
  const ids: string[] = [];
  // Started and left waiting for order.confirmed; no worker runs them afterwards, so every row stays unconsumed.
  const worker = createRuntime({ sagas: [order], store, onError: (e) => console.error(e) });
  for (let i = 0; i < SAGAS; i++) ids.push((await worker.startSaga(order, { orderId: `b-${i}` })).id);
  await worker.start();
  while ((await store.get(ids.at(-1)!))?.status !== 'waiting') await new Promise((r) => setTimeout(r, 10));
  await worker.stop();
  const sender = createRuntime({ sagas: [order], store, onError: (e) => console.error(e) }); // never started: it only sends
  const payload = { confirmedBy: 'bench' };
  const rates: number[] = [];
  const baseRates: number[] = [];
  // Interleaved in chunks, so the load of a shared machine falls on both alike.
  const CHUNK = 50;
  for (let round = 0; round < ROUNDS; round++) {
    for (let from = 0; from < ids.length; from += CHUNK) {
      const chunk = ids.slice(from, from + CHUNK);
      let started = performance.now();
      for (const id of chunk) await sender.send(id, 'order.confirmed', payload);
      rates.push((chunk.length / (performance.now() - started)) * 1000);
      started = performance.now();
      for (const id of chunk) {
        await store.get(id);
        await store.sendEvent(id, 'order.confirmed', JSON.stringify(payload), Date.now(), 'event');
      }
      baseRates.push((chunk.length / (performance.now() - started)) * 1000);
    }
  }
  const sendsPerSec = Math.round(median(rates));
  const baselineSendsPerSec = Math.round(median(baseRates));
  console.log(JSON.stringify({ store: name, sagas: SAGAS, sendsPerSec, baselineSendsPerSec, ratio: Number((sendsPerSec / baselineSendsPerSec).toFixed(2)) }));
  await done();
}

const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-send-'));
try {
  const sqlite = new SqliteStore({ path: join(dir, 'send.db') });
  await run('sqlite', sqlite, () => sqlite.close());
  if (PG_URL) {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
    const schema = `orsa_bench_send_${randomBytes(4).toString('hex')}`;
    await run('postgres', new PostgresStore({ pool, schema }), async () => (await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`), await pool.end()));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
