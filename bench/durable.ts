/**
 * Durable throughput: a 3-step saga with trivial steps, in steps per second,
 * beside a hand-written floor that makes the same commits (one to start, one
 * per step, each writing the same snapshot text and history rows) in the same
 * run. One JSON line per configuration:
 *   { store, concurrency, stepsPerSec, floorStepsPerSec, ratio, commitsPerStep }
 * Run: npm run bench:durable   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL;
 * skipped with a note when neither is set)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createRuntime, MemoryStore, saga } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/store/postgres.js';
import { SqliteStore } from '../src/store/sqlite.js';

const STEPS = 3;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SAGAS_SQLITE = Number(process.env.BENCH_SAGAS_SQLITE ?? 400);
const SAGAS_PG = Number(process.env.BENCH_SAGAS_PG ?? 300);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;
const POOL_MAX = 20;

const definition = saga('bench3')
  .input<{ n: number }>()
  .step('a', ({ input }) => input.n + 1)
  .step('b', ({ results }) => results.a + 1)
  .step('c', ({ results }) => results.b + 1)
  .build();

/** The snapshot texts and history rows orsa writes for one saga, so the floor writes the same bytes. */
async function capturePayloads(): Promise<{ snapshots: string[]; history: string[] }> {
  const store = new MemoryStore();
  const snapshots: string[] = [];
  const history: string[] = [];
  const runtime = createRuntime({ sagas: [definition], store, hooks: { onStore: (r) => void snapshots.push(r.snapshot) } });
  const { id } = await runtime.startSaga(definition, { n: 1 });
  await runtime.result(id);
  for (const event of await store.history(id)) history.push(JSON.stringify(event));
  await runtime.stop();
  return { snapshots, history };
}

function counting(store: SagaStore) {
  const counts = { commits: 0 };
  const wrapped: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(store))) {
    const value = (store as unknown as Record<string, unknown>)[key];
    if (typeof value === 'function' && key !== 'constructor') wrapped[key] = value.bind(store);
  }
  wrapped.insert = (...args: Parameters<SagaStore['insert']>) => (counts.commits++, store.insert(...args));
  wrapped.update = (...args: Parameters<SagaStore['update']>) => (counts.commits++, store.update(...args));
  return { store: wrapped as unknown as SagaStore, counts };
}

/** Runs `sagas` sagas with `concurrency` in flight; returns steps/s and commits per step. */
async function runOrsa(store: SagaStore, sagas: number, concurrency: number): Promise<{ stepsPerSec: number; commitsPerStep: number }> {
  const { store: counted, counts } = counting(store);
  const waiting = new Map<string, () => void>();
  const runtime = createRuntime({
    sagas: [definition],
    store: counted,
    hooks: { onComplete: (record) => waiting.get(record.id)?.() },
    onError: (e) => console.error(e),
  });
  await runtime.start();
  const start = process.hrtime.bigint();
  let next = 0;
  const lane = async () => {
    while (next < sagas) {
      const n = next++;
      const id = `b-${randomBytes(6).toString('hex')}-${n}`;
      const done = new Promise<void>((resolve) => waiting.set(id, resolve));
      await runtime.startSaga(definition, { n }, { id });
      await done;
      waiting.delete(id);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await runtime.stop();
  return { stepsPerSec: (sagas * STEPS) / seconds, commitsPerStep: counts.commits / (sagas * STEPS) };
}

/**
 * The floor: the same commits on the same schema (tables and indexes made by
 * the store's own migrations, in a database of its own), written by hand:
 * one transaction (SQLite) or one statement (PostgreSQL) per commit, the same
 * snapshot text and history rows, and nothing else.
 */
type Floor = { start(id: string): Promise<void>; step(id: string, k: number): Promise<void> };
type Payloads = { snapshots: string[]; history: string[] };

const historyRow = (json: string) => {
  const { at, type, step, attempt, data } = JSON.parse(json);
  return { at, type, step: step ?? null, attempt: attempt ?? null, data: data === undefined || data === null ? null : JSON.stringify(data) };
};

function sqliteFloor(db: Database.Database, payloads: Payloads): Floor {
  const insert = db.prepare(
    `INSERT INTO orsa_sagas (id, saga_name, version, status, snapshot, due_at, owner, lease_until, row_version, history_seq, created_at, updated_at)
     VALUES (?, 'bench3', 'v', 'running', ?, ?, 'floor', ?, 1, 2, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE orsa_sagas SET status = ?, snapshot = ?, due_at = ?, lease_until = ?, row_version = row_version + 1, history_seq = history_seq + 2, updated_at = ?
     WHERE id = ? AND row_version = ? AND owner = 'floor'`,
  );
  // Both history rows of a commit in one statement, as the store writes them.
  const history = db.prepare(
    'INSERT INTO orsa_history (saga_id, seq, at, type, step, attempt, data) VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)',
  );
  const rows = payloads.history.map(historyRow);
  const pair = (id: string, seq: number, a: ReturnType<typeof historyRow>, b: ReturnType<typeof historyRow>) =>
    history.run(id, seq, a.at, a.type, a.step, a.attempt, a.data, id, seq + 1, b.at, b.type, b.step, b.attempt, b.data);
  const start = db.transaction((id: string) => {
    const now = Date.now();
    insert.run(id, payloads.snapshots[0], now + 30_000, now + 30_000, now, now);
    pair(id, 1, rows[0]!, rows[1]!);
  });
  const step = db.transaction((id: string, k: number) => {
    const now = Date.now();
    const last = k === STEPS - 1;
    update.run(last ? 'completed' : 'running', payloads.snapshots[k + 1], last ? null : now + 30_000, last ? null : now + 30_000, now, id, k + 1);
    pair(id, 3 + 2 * k, rows[2 + 2 * k]!, rows[3 + 2 * k]!);
  });
  return { start: async (id) => start.immediate(id), step: async (id, k) => step.immediate(id, k) };
}

function pgFloor(pool: pg.Pool, schema: string, payloads: Payloads): Floor {
  const rows = payloads.history.map(historyRow);
  const pair = (i: number) => JSON.stringify([rows[i], rows[i + 1]]);
  const fields = `(e.v->>'at')::bigint, e.v->>'type', e.v->>'step', (e.v->>'attempt')::integer, e.v->>'data'`;
  return {
    start: async (id) => {
      const now = Date.now();
      await pool.query({
        name: `floor-start-${schema}`,
        text: `WITH s AS (
                 INSERT INTO ${schema}.sagas (id, saga_name, version, status, snapshot, due_at, owner, lease_until, row_version, history_seq, created_at, updated_at)
                 VALUES ($1, 'bench3', 'v', 'running', $2, $3, 'floor', $3, 1, 2, $4, $4) RETURNING id)
               INSERT INTO ${schema}.history (saga_id, seq, at, type, step, attempt, data)
               SELECT s.id, e.ord, ${fields} FROM s, json_array_elements($5::json) WITH ORDINALITY AS e(v, ord)`,
        values: [id, payloads.snapshots[0], now + 30_000, now, pair(0)],
      });
    },
    step: async (id, k) => {
      const now = Date.now();
      const last = k === STEPS - 1;
      await pool.query({
        name: `floor-step-${schema}`,
        text: `WITH u AS (
                 UPDATE ${schema}.sagas SET status = $2, snapshot = $3, due_at = $4, lease_until = $4, row_version = row_version + 1,
                   history_seq = history_seq + 2, updated_at = $5
                 WHERE id = $1 AND row_version = $6 AND owner = 'floor' RETURNING id, history_seq)
               INSERT INTO ${schema}.history (saga_id, seq, at, type, step, attempt, data)
               SELECT u.id, u.history_seq - 2 + e.ord, ${fields} FROM u, json_array_elements($7::json) WITH ORDINALITY AS e(v, ord)`,
        values: [id, last ? 'completed' : 'running', payloads.snapshots[k + 1], last ? null : now + 30_000, now, k + 1, pair(2 + 2 * k)],
      });
    },
  };
}

async function runFloor(floor: Floor, sagas: number, concurrency: number): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  const lane = async () => {
    while (next < sagas) {
      const id = `f-${randomBytes(6).toString('hex')}-${next++}`;
      await floor.start(id);
      for (let k = 0; k < STEPS; k++) await floor.step(id, k);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (sagas * STEPS) / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function compare(label: { store: string; concurrency: number }, orsa: () => Promise<{ stepsPerSec: number; commitsPerStep: number }>, floor: () => Promise<number>) {
  const ours: number[] = [];
  const floors: number[] = [];
  let commitsPerStep = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate, so that drift of a shared machine hits both sides alike.
    floors.push(await floor());
    const r = await orsa();
    ours.push(r.stepsPerSec);
    commitsPerStep = r.commitsPerStep;
  }
  const stepsPerSec = Math.round(median(ours));
  const floorStepsPerSec = Math.round(median(floors));
  console.log(JSON.stringify({ ...label, stepsPerSec, floorStepsPerSec, ratio: +(stepsPerSec / floorStepsPerSec).toFixed(3), commitsPerStep: +commitsPerStep.toFixed(3) }));
}

async function main() {
  const payloads = await capturePayloads();
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-'));
    const store = new SqliteStore({ path: join(dir, 'orsa.db'), synchronous });
    // The floor's database gets its tables from the store's own migrations, then is written by hand.
    const floorDb = new Database(join(dir, 'floor.db'));
    const schemaMaker = new SqliteStore({ database: floorDb, synchronous });
    await schemaMaker.init();
    await schemaMaker.close();
    const floor = sqliteFloor(floorDb, payloads);
    await compare({ store: `sqlite-${synchronous.toLowerCase()}`, concurrency: 1 }, () => runOrsa(store, SAGAS_SQLITE, 1), () => runFloor(floor, SAGAS_SQLITE, 1));
    await store.close();
    floorDb.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!PG_URL) {
    console.error('PostgreSQL skipped: set ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)');
    return;
  }
  const schema = `orsa_bench_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_MAX });
  try {
    const store = new PostgresStore({ pool, schema });
    await store.init();
    await new PostgresStore({ pool, schema: `${schema}_floor` }).init();
    const floor = pgFloor(pool, `${schema}_floor`, payloads);
    for (const concurrency of [1, 50]) {
      await compare({ store: 'postgres', concurrency }, () => runOrsa(store, SAGAS_PG * (concurrency > 1 ? 3 : 1), concurrency), () => runFloor(floor, SAGAS_PG * (concurrency > 1 ? 3 : 1), concurrency));
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_floor CASCADE`);
    await pool.end();
  }
}

void main();
