/**
 * Durable throughput: sagas of 3, 100 and 1,000 trivial steps with 100-byte
 * and 10 KB results, in steps per second, beside a hand-written floor that
 * makes one commit per step (the same control state, journal entries and
 * history rows orsa writes for a step) in the same run. One JSON line per
 * configuration:
 *   { store, concurrency, steps, resultBytes, stepsPerSec, floorStepsPerSec, ratio,
 *     commitsPerStep, usPerStep, bytesWrittenPerStep }
 * bytesWrittenPerStep comes from the store's own accounting (stats()).
 * At concurrency 50 (BENCH_CONCURRENCY), orsa runs 50 sagas at once in one
 * process (its writes share group commits); the floor is 50 concurrent
 * clients, each making its own commit per step (on PostgreSQL through a pool
 * of 20 connections, as orsa's; SQLite commits one at a time whatever the
 * concurrency). commitsPerStep counts commits (a group commit is one).
 * Knobs: BENCH_LENGTHS=3,100,1000 BENCH_RESULT_BYTES=100,10000 BENCH_ROUNDS=3
 * BENCH_CONCURRENCY=50 BENCH_SQLITE_SYNC=NORMAL (or FULL,NORMAL)
 * BENCH_STEPS_SQLITE=3000 BENCH_STEPS_PG=1500 (steps per measured run; 3× when concurrent)
 * BENCH_STORES=sqlite,postgres (which stores to measure; BENCH_SKIP_SQLITE=1 as in bench:resume).
 * Run: npm run bench:durable   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL;
 * skipped with a note when neither is set)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createRuntime, MemoryStore } from '../src/index.js';
import { benchSaga, runOrsa } from './orsa-run.js';
import type { SagaStore } from '../src/store.js';
import { encodeHistory, type HistoryRow } from '../src/stores/encoding.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Steps per measured run, whatever the saga length (so each configuration takes about as long). */
const STEPS_PER_RUN_SQLITE = Number(process.env.BENCH_STEPS_SQLITE ?? 3000);
const STEPS_PER_RUN_PG = Number(process.env.BENCH_STEPS_PG ?? 1500);
const LENGTHS = (process.env.BENCH_LENGTHS ?? '3,100,1000').split(',').map(Number);
const RESULT_BYTES = (process.env.BENCH_RESULT_BYTES ?? '100,10000').split(',').map(Number);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;
const POOL_MAX = 20;
/** Concurrent configurations (3 steps, the first result size): sagas in flight at once. */
const CONCURRENT = (process.env.BENCH_CONCURRENCY ?? '50').split(',').filter(Boolean).map(Number);
/** SQLite's synchronous settings to measure (NORMAL: a process crash loses nothing; FULL, the default: a power loss neither). */
const SQLITE_SYNC = (process.env.BENCH_SQLITE_SYNC ?? 'NORMAL').split(',') as ('FULL' | 'NORMAL')[];
const STORES = new Set((process.env.BENCH_STORES ?? (process.env.BENCH_SKIP_SQLITE ? 'postgres' : 'sqlite,postgres')).split(','));

/** What orsa writes for the first step of a saga (control state, journal entries, history rows): the floor writes the same at every step. */
interface Payloads {
  insertSnapshot: string;
  insertJournal: string[][];
  insertHistory: HistoryRow[];
  stepSnapshot: string;
  stepJournal: string[][];
  stepHistory: HistoryRow[];
}

async function capturePayloads(definition: ReturnType<typeof benchSaga>): Promise<Payloads> {
  const captured: Partial<Payloads> = {};
  const recording = new (class extends MemoryStore {
    override insert(...[record, history]: Parameters<SagaStore['insert']>) {
      captured.insertSnapshot ??= record.snapshot;
      captured.insertJournal ??= (record.journal ?? []).map((e) => [e.field, e.key ?? '', e.value]);
      captured.insertHistory ??= history.map(encodeHistory);
      return super.insert(record, history);
    }
    override update(...[id, fence, patch, history, options]: Parameters<SagaStore['update']>) {
      if (!captured.stepSnapshot) {
        captured.stepSnapshot = patch.snapshot;
        captured.stepJournal = (patch.journal?.entries ?? []).map((e) => [e.field, e.key ?? '', e.value]);
        captured.stepHistory = history.map(encodeHistory);
      }
      return super.update(id, fence, patch, history, options);
    }
  })();
  const runtime = createRuntime({ sagas: [definition], store: recording });
  const { id } = await runtime.startSaga(definition, { n: 1 });
  await runtime.result(id);
  await runtime.stop();
  return captured as Payloads;
}

/**
 * The floor: one commit per step on the same schema (tables and indexes made
 * by the store's own migrations, in a database of its own), written by hand:
 * the control state, the journal entries and the history rows orsa writes for
 * a step, and nothing else: its cost per step does not depend on the length.
 */
type Floor = { start(id: string): Promise<void>; step(id: string, k: number, last: boolean): Promise<void> };

function sqliteFloor(db: Database.Database, p: Payloads): Floor {
  const insert = db.prepare(
    `INSERT INTO orsa_sagas (id, saga_name, version, status, snapshot, due_at, owner, lease_until, row_version, history_seq, journal_seq, created_at, updated_at)
     VALUES (?, 'bench', 'v', 'running', ?, ?, 'floor', ?, 1, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE orsa_sagas SET status = ?, snapshot = ?, due_at = ?, lease_until = ?, row_version = row_version + 1,
       history_seq = history_seq + ?, journal_seq = journal_seq + ?, updated_at = ?
     WHERE id = ? AND row_version = ? AND owner = 'floor' RETURNING history_seq, journal_seq`,
  );
  const rows = (n: number, width: number) => Array(n).fill(`(${Array(width).fill('?').join(', ')})`).join(', ');
  const history = (n: number) => db.prepare(`INSERT INTO orsa_history (saga_id, seq, at, type, step, attempt, data) VALUES ${rows(n, 7)}`);
  const journal = (n: number) => db.prepare(`INSERT INTO orsa_journal (saga_id, seq, field, key, value) VALUES ${rows(n, 5)}`);
  const [hStart, hStep, jStart, jStep] = [history(p.insertHistory.length), history(p.stepHistory.length), journal(p.insertJournal.length), journal(p.stepJournal.length)];
  const hArgs = (id: string, first: number, hs: HistoryRow[]) => hs.flatMap((h, i) => [id, first + i, h.at, h.type, h.step, h.attempt, h.data]);
  const jArgs = (id: string, first: number, js: string[][]) => js.flatMap((j, i) => [id, first + i, ...j]);
  const start = db.transaction((id: string) => {
    const now = Date.now();
    insert.run(id, p.insertSnapshot, now + 30_000, now + 30_000, p.insertHistory.length, p.insertJournal.length, now, now);
    hStart.run(hArgs(id, 1, p.insertHistory));
    if (p.insertJournal.length) jStart.run(jArgs(id, 1, p.insertJournal));
  });
  const step = db.transaction((id: string, k: number, last: boolean) => {
    const now = Date.now();
    const w = update.get(last ? 'completed' : 'running', p.stepSnapshot, last ? null : now + 30_000, last ? null : now + 30_000,
      p.stepHistory.length, p.stepJournal.length, now, id, k + 1) as { history_seq: number; journal_seq: number };
    hStep.run(hArgs(id, w.history_seq - p.stepHistory.length + 1, p.stepHistory));
    jStep.run(jArgs(id, w.journal_seq - p.stepJournal.length + 1, p.stepJournal));
  });
  return { start: async (id) => start.immediate(id), step: async (id, k, last) => step.immediate(id, k, last) };
}

function pgFloor(pool: pg.Pool, schema: string, p: Payloads): Floor {
  const hFields = `(e.v->>'at')::bigint, e.v->>'type', e.v->>'step', (e.v->>'attempt')::integer, e.v->>'data'`;
  const jFields = `e.v->>0, nullif(e.v->>1, ''), e.v->>2`;
  const tag = randomBytes(3).toString('hex');
  return {
    start: async (id) => {
      const now = Date.now();
      await pool.query({
        name: `floor-start-${tag}`,
        text: `WITH s AS (
                 INSERT INTO ${schema}.sagas (id, saga_name, version, status, snapshot, due_at, owner, lease_until, row_version, history_seq, journal_seq, created_at, updated_at)
                 VALUES ($1, 'bench', 'v', 'running', $2, $3, 'floor', $3, 1, $6, $7, $4, $4) RETURNING id),
               h AS (INSERT INTO ${schema}.history (saga_id, seq, at, type, step, attempt, data)
                 SELECT s.id, e.ord, ${hFields} FROM s, json_array_elements($5::json) WITH ORDINALITY AS e(v, ord))
               INSERT INTO ${schema}.journal (saga_id, seq, field, key, value)
               SELECT s.id, e.ord, ${jFields} FROM s, json_array_elements($8::json) WITH ORDINALITY AS e(v, ord)`,
        values: [id, p.insertSnapshot, now + 30_000, now, JSON.stringify(p.insertHistory), p.insertHistory.length, p.insertJournal.length, JSON.stringify(p.insertJournal)],
      });
    },
    step: async (id, k, last) => {
      const now = Date.now();
      await pool.query({
        name: `floor-step-${tag}`,
        text: `WITH u AS (
                 UPDATE ${schema}.sagas SET status = $2, snapshot = $3, due_at = $4, lease_until = $4, row_version = row_version + 1,
                   history_seq = history_seq + $8::integer, journal_seq = journal_seq + $9::integer, updated_at = $5
                 WHERE id = $1 AND row_version = $6 AND owner = 'floor' RETURNING id, history_seq, journal_seq),
               h AS (INSERT INTO ${schema}.history (saga_id, seq, at, type, step, attempt, data)
                 SELECT u.id, u.history_seq - $8::integer + e.ord, ${hFields} FROM u, json_array_elements($7::json) WITH ORDINALITY AS e(v, ord))
               INSERT INTO ${schema}.journal (saga_id, seq, field, key, value)
               SELECT u.id, u.journal_seq - $9::integer + e.ord, ${jFields} FROM u, json_array_elements($10::json) WITH ORDINALITY AS e(v, ord)`,
        values: [id, last ? 'completed' : 'running', p.stepSnapshot, last ? null : now + 30_000, now, k + 1, JSON.stringify(p.stepHistory),
          p.stepHistory.length, p.stepJournal.length, JSON.stringify(p.stepJournal)],
      });
    },
  };
}

async function runFloor(floor: Floor, steps: number, sagas: number, concurrency: number): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  const lane = async () => {
    while (next < sagas) {
      const id = `f-${randomBytes(6).toString('hex')}-${next++}`;
      await floor.start(id);
      for (let k = 0; k < steps; k++) await floor.step(id, k, k === steps - 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (sagas * steps) / (Number(process.hrtime.bigint() - start) / 1e9);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type OrsaRun = { stepsPerSec: number; commitsPerStep: number; bytesWrittenPerStep: number };

async function compare(label: { store: string; concurrency: number; steps: number; resultBytes: number }, orsa: () => Promise<OrsaRun>, floor: () => Promise<number>) {
  const ours: OrsaRun[] = [];
  const floors: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate, so that drift of a shared machine hits both sides alike.
    floors.push(await floor());
    ours.push(await orsa());
  }
  const stepsPerSec = Math.round(median(ours.map((r) => r.stepsPerSec)));
  const floorStepsPerSec = Math.round(median(floors));
  const last = ours[ours.length - 1]!;
  console.log(
    JSON.stringify({
      ...label,
      stepsPerSec,
      floorStepsPerSec,
      ratio: +(stepsPerSec / floorStepsPerSec).toFixed(3),
      commitsPerStep: +last.commitsPerStep.toFixed(3),
      // Wall time per step of one lane: with concurrency, steps of different sagas overlap.
      usPerStep: Math.round((1e6 * label.concurrency) / stepsPerSec),
      bytesWrittenPerStep: Math.round(last.bytesWrittenPerStep),
    }),
  );
}

const sagasFor = (stepsPerRun: number, steps: number) => Math.max(1, Math.round(stepsPerRun / steps));

async function main() {
  const sqliteConfigs = !STORES.has('sqlite') ? [] : [
    ...LENGTHS.flatMap((steps) => RESULT_BYTES.map((resultBytes) => ({ steps, resultBytes, concurrency: 1 }))),
    ...CONCURRENT.map((concurrency) => ({ steps: 3, resultBytes: RESULT_BYTES[0]!, concurrency })),
  ];
  for (const { steps, resultBytes, concurrency } of sqliteConfigs) {
    const definition = benchSaga(steps, resultBytes);
    const payloads = await capturePayloads(definition);
    const sagas = Math.max(concurrency, sagasFor(STEPS_PER_RUN_SQLITE * (concurrency > 1 ? 3 : 1), steps));
    for (const synchronous of SQLITE_SYNC) {
      const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-'));
      const store = new SqliteStore({ path: join(dir, 'orsa.db'), synchronous });
      // The floor's database gets its tables from the store's own migrations, then is written by hand.
      const floorDb = new Database(join(dir, 'floor.db'));
      const schemaMaker = new SqliteStore({ database: floorDb, synchronous });
      await schemaMaker.init();
      await schemaMaker.close();
      const floor = sqliteFloor(floorDb, payloads);
      await compare(
        { store: `sqlite-${synchronous.toLowerCase()}`, concurrency, steps, resultBytes },
        () => runOrsa(store, definition, steps, sagas, concurrency),
        () => runFloor(floor, steps, sagas, concurrency),
      );
      await store.close();
      floorDb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!STORES.has('postgres')) return;
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
    const configs = [
      ...LENGTHS.flatMap((steps) => RESULT_BYTES.map((resultBytes) => ({ steps, resultBytes, concurrency: 1 }))),
      ...CONCURRENT.map((concurrency) => ({ steps: 3, resultBytes: RESULT_BYTES[0]!, concurrency })),
    ];
    for (const { steps, resultBytes, concurrency } of configs) {
      const definition = benchSaga(steps, resultBytes);
      const floor = pgFloor(pool, `${schema}_floor`, await capturePayloads(definition));
      const sagas = Math.max(concurrency, sagasFor(STEPS_PG_RUN(concurrency), steps));
      await compare({ store: 'postgres', concurrency, steps, resultBytes }, () => runOrsa(store, definition, steps, sagas, concurrency), () => runFloor(floor, steps, sagas, concurrency));
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_floor CASCADE`);
    await pool.end();
  }
}

/** Steps per run on PostgreSQL: concurrent runs go faster, so they get more. */
const STEPS_PG_RUN = (concurrency: number) => STEPS_PER_RUN_PG * (concurrency > 1 ? 3 : 1);

void main();
