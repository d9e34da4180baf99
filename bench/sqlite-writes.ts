/**
 * SqliteStore's own cost per write, without the interpreter: the inserts and
 * updates the runtime makes for a 3-step saga (captured once from a real run)
 * replayed through `SqliteStore.insert`/`update`, beside the hand-written
 * floor's statements (bench/durable.ts) writing the same payloads. Both sides
 * share one database and alternate saga by saga, so the database's size,
 * checkpoints and the machine's load hit them alike; each write is timed
 * alone. One JSON line:
 *   { sagas, synchronous, orsa: { wallUs, cpuUs, bodyMedUs, commitMedUs, commitMeanUs }, floor: {…}, ratioCpu, ratioBody }
 * bodyMedUs: the median time inside the transaction (statements and the JS
 * around them); commitMedUs/commitMeanUs: COMMIT alone (the mean includes
 * the WAL checkpoints SQLite runs inside some commits). Ratios are floor/orsa.
 * Knobs: BENCH_SAGAS=4000 BENCH_SQLITE_SYNC=NORMAL BENCH_WAL_AUTOCHECKPOINT (pages; SQLite's default 1000)
 * Run: node scripts/run-bench.mjs bench/sqlite-writes.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createRuntime, MemoryStore } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { encodeHistory, type HistoryRow } from '../src/stores/encoding.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { benchSaga } from './orsa-run.js';

const SAGAS = Number(process.env.BENCH_SAGAS ?? 4000);
const SYNC = (process.env.BENCH_SQLITE_SYNC ?? 'NORMAL') as 'FULL' | 'NORMAL';
const AUTOCHECKPOINT = process.env.BENCH_WAL_AUTOCHECKPOINT;

type Call = ['insert', Parameters<SagaStore['insert']>] | ['update', Parameters<SagaStore['update']>];

/** The store calls of one 3-step saga with 100-byte results, as the runtime makes them. */
async function captureCalls(): Promise<Call[]> {
  const calls: Call[] = [];
  const recording = new (class extends MemoryStore {
    override insert(...args: Parameters<SagaStore['insert']>) {
      calls.push(['insert', structuredClone(args)]);
      return super.insert(...args);
    }
    override update(...args: Parameters<SagaStore['update']>) {
      calls.push(['update', structuredClone(args)]);
      return super.update(...args);
    }
  })();
  const definition = benchSaga(3, 100);
  const runtime = createRuntime({ sagas: [definition], store: recording });
  const { id } = await runtime.startSaga(definition, { n: 1 });
  await runtime.result(id);
  await runtime.stop();
  return calls;
}

/** The calls of one saga under a fresh id. */
function sagaCalls(calls: Call[], n: number): Call[] {
  const id = `b-${randomBytes(6).toString('hex')}-${n}`;
  return calls.map(([kind, args]): Call => {
    const copy = structuredClone(args) as typeof args;
    if (kind === 'insert') (copy as Parameters<SagaStore['insert']>)[0].id = id;
    else (copy as Parameters<SagaStore['update']>)[0] = id;
    return [kind, copy] as Call;
  });
}

type Writer = {
  insert(...args: Parameters<SagaStore['insert']>): Promise<unknown>;
  update(...args: Parameters<SagaStore['update']>): Promise<unknown>;
};
type Entry = { field: string; key: string | null; value: string };

/** The floor of bench/durable.ts, fed each write's own payloads. */
function floorOf(db: Database.Database): Writer {
  const insert = db.prepare(
    `INSERT INTO orsa_sagas (id, saga_name, version, status, snapshot, due_at, owner, lease_until, row_version, history_seq, journal_seq, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE orsa_sagas SET status = ?, snapshot = ?, due_at = ?, lease_until = ?, row_version = row_version + 1,
       history_seq = history_seq + ?, journal_seq = journal_seq + ?, updated_at = ?
     WHERE id = ? AND row_version = ? AND owner = ? RETURNING history_seq, journal_seq`,
  );
  const rows = (n: number, width: number) => Array(n).fill(`(${Array(width).fill('?').join(', ')})`).join(', ');
  // Prepared once per row count, as bench/durable.ts prepares its floor's statements up front.
  const historyOf: Database.Statement[] = [];
  const journalOf: Database.Statement[] = [];
  const history = (id: string, first: number, hs: HistoryRow[]) => {
    if (hs.length === 0) return;
    historyOf[hs.length] ??= db.prepare(`INSERT INTO orsa_history (saga_id, seq, at, type, step, attempt, data) VALUES ${rows(hs.length, 7)}`);
    historyOf[hs.length]!.run(hs.flatMap((h, i) => [id, first + i, h.at, h.type, h.step, h.attempt, h.data]));
  };
  const journal = (id: string, first: number, js: readonly Entry[]) => {
    if (js.length === 0) return;
    journalOf[js.length] ??= db.prepare(`INSERT INTO orsa_journal (saga_id, seq, field, key, value) VALUES ${rows(js.length, 5)}`);
    journalOf[js.length]!.run(js.flatMap((j, i) => [id, first + i, j.field, j.key, j.value]));
  };
  const start = db.transaction((r: Parameters<SagaStore['insert']>[0], hs: HistoryRow[]) => {
    insert.run(r.id, r.sagaName, r.version, r.status, r.snapshot, r.dueAt, r.owner, r.leaseUntil, hs.length, r.journal?.length ?? 0, r.now, r.now);
    history(r.id, 1, hs);
    journal(r.id, 1, r.journal ?? []);
  });
  const step = db.transaction((id: string, fence: { rowVersion: number; owner: string }, patch: Parameters<SagaStore['update']>[2], hs: HistoryRow[], now: number) => {
    const entries = patch.journal?.entries ?? [];
    const w = update.get(patch.status, patch.snapshot, patch.dueAt, patch.leaseUntil, hs.length, entries.length, now, id, fence.rowVersion, fence.owner) as
      | { history_seq: number; journal_seq: number }
      | undefined;
    if (!w) throw new Error(`floor: stale ${id}`);
    history(id, w.history_seq - hs.length + 1, hs);
    journal(id, w.journal_seq - entries.length + 1, entries);
  });
  return {
    insert: async (record, hs) => start.immediate(record, hs.map(encodeHistory)),
    update: async (id, fence, patch, hs, options) => step.immediate(id, fence, patch, hs.map(encodeHistory), options.now),
  };
}

type Side = 'orsa' | 'floor';
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1]! : 0);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const round = (x: number) => +x.toFixed(1);

async function main() {
  const calls = await captureCalls();
  const dir = mkdtempSync(join(tmpdir(), 'orsa-bench-writes-'));
  const db = new Database(join(dir, 'one.db'));
  // Times BEGIN…COMMIT apart from the body on both sides: the store and the floor take their transactions from here.
  let side: Side = 'floor';
  const timings = { orsa: { body: [] as number[], commit: [] as number[] }, floor: { body: [] as number[], commit: [] as number[] } };
  const [begin, commit, rollback] = ['BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK'].map((sql) => db.prepare(sql));
  const timed = (fn: (...args: unknown[]) => unknown) => {
    const run = function (this: unknown, ...args: unknown[]) {
      begin!.run();
      let t = process.hrtime.bigint();
      try {
        const result = fn.apply(this, args);
        const t2 = process.hrtime.bigint();
        timings[side].body.push(Number(t2 - t) / 1e3);
        t = t2;
        commit!.run();
        timings[side].commit.push(Number(process.hrtime.bigint() - t) / 1e3);
        return result;
      } catch (error) {
        if (db.inTransaction) rollback!.run();
        throw error;
      }
    };
    return Object.assign(run, { immediate: run });
  };
  (db as unknown as { transaction: unknown }).transaction = timed;
  const store = new SqliteStore({ database: db, synchronous: SYNC });
  await store.init();
  if (AUTOCHECKPOINT !== undefined) db.pragma(`wal_autocheckpoint = ${Number(AUTOCHECKPOINT)}`);
  const floor = floorOf(db);
  const totals = { orsa: { wall: 0, cpu: 0, n: 0 }, floor: { wall: 0, cpu: 0, n: 0 } };
  const write = async (s: Side, saga: Call[]) => {
    side = s;
    const target: Writer = s === 'orsa' ? store : floor;
    for (const [kind, args] of saga) {
      const cpu = process.cpuUsage();
      const t = process.hrtime.bigint();
      if (kind === 'insert') await target.insert({ ...args[0], now: Date.now() }, args[1]);
      else await target.update(args[0], args[1], args[2], args[3], { ...args[4], now: Date.now() });
      totals[s].wall += Number(process.hrtime.bigint() - t) / 1e3;
      const used = process.cpuUsage(cpu);
      totals[s].cpu += used.user + used.system;
      totals[s].n++;
    }
  };
  for (let i = 0; i < 400; i++) await write(i % 2 ? 'orsa' : 'floor', sagaCalls(calls, i));
  for (const s of ['orsa', 'floor'] as const) {
    totals[s] = { wall: 0, cpu: 0, n: 0 };
    timings[s] = { body: [], commit: [] };
  }
  const sagas = Array.from({ length: SAGAS }, (_, i) => [sagaCalls(calls, 2 * i), sagaCalls(calls, 2 * i + 1)] as const);
  for (const [i, [mine, theirs]] of sagas.entries()) {
    // Alternate which side goes first, so neither always writes into the other's freshly dirtied pages.
    if (i % 2) await write('orsa', mine).then(() => write('floor', theirs));
    else await write('floor', theirs).then(() => write('orsa', mine));
  }
  const report = (s: Side) => ({
    wallUs: round(totals[s].wall / totals[s].n),
    cpuUs: round(totals[s].cpu / totals[s].n),
    bodyMedUs: round(median(timings[s].body)),
    commitMedUs: round(median(timings[s].commit)),
    commitMeanUs: round(mean(timings[s].commit)),
  });
  const orsa = report('orsa');
  const floorReport = report('floor');
  console.log(
    JSON.stringify({
      sagas: SAGAS,
      synchronous: SYNC,
      orsa,
      floor: floorReport,
      ratioCpu: +(floorReport.cpuUs / orsa.cpuUs).toFixed(3),
      ratioBody: +(floorReport.bodyMedUs / orsa.bodyMedUs).toFixed(3),
    }),
  );
  await store.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

void main();
