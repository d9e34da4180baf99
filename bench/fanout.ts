/**
 * Fan-out throughput: one saga whose map runs N items (one trivial step each,
 * a ~30-byte result), 20 at a time, on SQLite and PostgreSQL, beside a
 * baseline measured in the same run: a plain async loop with the same
 * concurrency that commits one row per item (the item's result) to the same
 * kind of database. One JSON line per configuration:
 *   { store, items, concurrency, itemsPerSec, bytesWrittenPerItem, commitsPerItem, baselineItemsPerSec, ratio }
 * bytesWrittenPerItem comes from the store's own accounting (stats(), as
 * bench:durable): it should not grow with the map's size (100 vs 10,000).
 * Knobs: BENCH_ITEMS=100,10000 BENCH_CONCURRENCY=20
 * Run: npm run bench:fanout   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL; skipped with a note when neither is set)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createRuntime, saga } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const ITEMS = (process.env.BENCH_ITEMS ?? '100,10000').split(',').map(Number);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;

type Stats = { bytesWritten: number; writes: number };
type Measured = { itemsPerSec: number; bytesWrittenPerItem: number; commitsPerItem: number };

const result = (item: number) => ({ id: item, ok: true, note: 'shipped' });

const fanout = saga('bench-fanout')
  .input<{ n: number }>()
  .map('items', ({ input }) => Array.from({ length: input.n }, (_, i) => i), (b) => b.step('work', ({ item }) => result(item)), { concurrency: CONCURRENCY })
  .build();

async function runOrsa(store: SagaStore & { stats(): Stats }, n: number): Promise<Measured> {
  let settle!: (ok: boolean) => void;
  const settled = new Promise<boolean>((resolve) => (settle = resolve));
  // Awaited through the hooks: runtime.result() re-reads the whole record at every write of the saga.
  const runtime = createRuntime({ sagas: [fanout], store, hooks: { onComplete: () => settle(true), onAbort: () => settle(false) } });
  await runtime.start();
  const before = store.stats();
  const start = process.hrtime.bigint();
  await runtime.startSaga(fanout, { n });
  if (!(await settled)) throw new Error('the bench saga did not complete');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const after = store.stats();
  await runtime.stop();
  return { itemsPerSec: n / seconds, bytesWrittenPerItem: (after.bytesWritten - before.bytesWritten) / n, commitsPerItem: (after.writes - before.writes) / n };
}

/** The same concurrency, one commit of one row per item: what any durable fan-out must at least do. */
async function baseline(write: (item: number, value: string) => Promise<void>, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const item = next++;
      await write(item, JSON.stringify(result(item)));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

function print(store: string, items: number, orsa: Measured, baselineItemsPerSec: number): void {
  console.log(JSON.stringify({
    store,
    items,
    concurrency: CONCURRENCY,
    itemsPerSec: Math.round(orsa.itemsPerSec),
    bytesWrittenPerItem: Math.round(orsa.bytesWrittenPerItem),
    commitsPerItem: Number(orsa.commitsPerItem.toFixed(3)),
    baselineItemsPerSec: Math.round(baselineItemsPerSec),
    ratio: Number((orsa.itemsPerSec / baselineItemsPerSec).toFixed(3)),
  }));
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(JSON.stringify({ bench: 'fanout', node: process.version, loadavg: loadavg() }));

for (const n of ITEMS) {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-fanout-'));
  try {
    const store = new SqliteStore({ path: join(dir, 'sagas.db') });
    const orsa = await runOrsa(store, n);
    await store.close();
    // The baseline's database is set up as SqliteStore sets up its own (WAL, synchronous FULL).
    const db = new Database(join(dir, 'baseline.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE results (item INTEGER PRIMARY KEY, value TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO results (item, value) VALUES (?, ?)');
    const base = await baseline(async (item, value) => void (await Promise.resolve(), insert.run(item, value)), n);
    db.close();
    print('sqlite', n, orsa, base);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!PG_URL) {
  console.log(JSON.stringify({ store: 'postgres', skipped: 'set ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL' }));
} else {
  for (const n of ITEMS) {
    const pool = new pg.Pool({ connectionString: PG_URL, max: CONCURRENCY });
    const schema = `orsa_bench_fanout_${randomBytes(4).toString('hex')}`;
    try {
      const store = new PostgresStore({ pool, schema });
      const orsa = await runOrsa(store, n);
      await pool.query(`CREATE TABLE "${schema}".baseline (item integer PRIMARY KEY, value text NOT NULL)`);
      const base = await baseline(async (item, value) => void (await pool.query(`INSERT INTO "${schema}".baseline (item, value) VALUES ($1, $2)`, [item, value])), n);
      print('postgres', n, orsa, base);
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  }
}
console.log(JSON.stringify({ bench: 'fanout', loadavgAfter: loadavg() }));
