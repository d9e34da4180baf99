import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptRecordError, createRuntime, createTestClock, type SagaStatus } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { captureSnapshots, FUZZ_T0, fuzzSagas, tick, type CapturedSnapshot } from './fixtures/fuzz-records.js';
import { mutate, seededRandom } from './fixtures/snapshot-mutations.js';
import type { RatesServer } from '../examples/rates-server.js';

// Reproducible: the seed is printed; ORSA_FUZZ_SEED replays a run, ORSA_FUZZ_RECORDS sets its size.
// Outside CI each run draws a new seed and so explores new mutations; CI replays a fixed one (the seed that
// found a running step whose visit count was deleted), so a submission is judged on the same records every time.
const SEED = Number(process.env.ORSA_FUZZ_SEED ?? (process.env.CI ? 803201677 : randomBytes(4).readUInt32LE(0)));
const RECORDS = Number(process.env.ORSA_FUZZ_RECORDS ?? 1_000);
const CONTROLS = 50;
const ENDED = ['completed', 'compensated', 'cancelled', 'failed'];
const UNKNOWN_STATUSES = ['paused', 'RUNNING', '', 'running ', 'done'];
const url = process.env.ORSA_TEST_PG_URL;
const ci = Boolean(process.env.CI);
console.log(`snapshot fuzz: seed ${SEED}, ${RECORDS} mutated records per store (replay with ORSA_FUZZ_SEED=${SEED})`);

interface FuzzRecord {
  id: string;
  sagaName: string;
  version: string;
  status: string;
  snapshot: string;
  what: string[];
}

/** The records of one run: every one mutated 1–3 times from a real snapshot, plus unmutated controls. */
function makeRecords(snapshots: CapturedSnapshot[], seed: number): FuzzRecord[] {
  const random = seededRandom(seed);
  const steps = [...new Set(fuzzSagas.flatMap((s) => Object.keys(s.compiled.steps)))];
  const records: FuzzRecord[] = [];
  for (let i = 0; i < RECORDS + CONTROLS; i++) {
    const base = snapshots[Math.floor(random() * snapshots.length)]!;
    const id = `fuzz-${seed}-${i}`;
    const parsed = JSON.parse(base.snapshot);
    parsed.context.sagaId = id;
    let text = JSON.stringify(parsed);
    let status = base.status;
    const what: string[] = [];
    if (i >= CONTROLS) {
      if (random() < 0.04) {
        status = UNKNOWN_STATUSES[Math.floor(random() * UNKNOWN_STATUSES.length)]!;
        what.push(`status column = ${JSON.stringify(status)}`);
      } else {
        const count = 1 + Math.floor(random() * 3);
        for (let m = 0; m < count; m++) {
          const mutated = mutate(text, random, steps);
          text = mutated.text;
          what.push(mutated.what);
          if (mutated.what.startsWith('truncated')) break;
        }
      }
    }
    records.push({ id, sagaName: base.sagaName, version: base.version, status, snapshot: text, what });
  }
  return records;
}

interface Backend {
  store: SagaStore;
  /** Every column of every saga row, as the database holds it. */
  rows(): Promise<Map<string, unknown>>;
  close(): Promise<void>;
}

async function fuzz(backend: Backend, snapshots: CapturedSnapshot[]): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const { store } = backend;
  try {
    await store.init();
    const records = makeRecords(snapshots, SEED);
    for (const r of records) {
      await store.insert(
        { id: r.id, sagaName: r.sagaName, version: r.version, status: r.status as SagaStatus, snapshot: r.snapshot, dueAt: FUZZ_T0, owner: null, leaseUntil: null, now: FUZZ_T0 },
        [{ at: FUZZ_T0, type: 'saga.started' }],
      );
    }
    const before = await backend.rows();
    const errors: unknown[] = [];
    const clock = createTestClock(FUZZ_T0);
    const runtime = createRuntime({ sagas: [...fuzzSagas], store, clock, claimBatch: 500, leaseMs: 120_000, workerId: 'fuzzer', onError: (e) => errors.push(e) });
    const reported = () => new Set(errors.filter((e): e is CorruptRecordError => e instanceof CorruptRecordError).map((e) => e.sagaId));
    const pending = async () => {
      const corrupt = reported();
      const status = new Map((await store.list({ limit: 100_000 })).map((r) => [r.id, r.status as string]));
      return records.filter((r) => !corrupt.has(r.id) && !ENDED.includes(status.get(r.id)!));
    };
    await runtime.start();
    // Bounded by real time, not by ticks: the services' own delays are real, and a loaded machine runs them slower.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await pending()).length > 0) await tick(clock, 1_000);
    await runtime.stop();

    const open = await pending();
    expect(open.map((r) => `${r.id} (${r.status}): ${r.what.join('; ')}`), 'records neither finished nor reported').toEqual([]);
    expect(errors.filter((e) => !(e instanceof CorruptRecordError)), 'errors other than CORRUPT_RECORD').toEqual([]);
    const counts = new Map<string, number>();
    for (const e of errors as CorruptRecordError[]) counts.set(e.sagaId, (counts.get(e.sagaId) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n !== 1), 'records reported more than once').toEqual([]);
    const after = await backend.rows();
    const changed = [...counts.keys()].filter((id) => JSON.stringify(after.get(id)) !== JSON.stringify(before.get(id)));
    expect(changed.map((id) => `${id}: ${records.find((r) => r.id === id)!.what.join('; ')}`), 'reported records that changed').toEqual([]);
    for (const control of records.slice(0, CONTROLS)) expect(counts.has(control.id), `unmutated ${control.id} reported`).toBe(false);
    expect(unhandled).toEqual([]);
    const resumed = records.length - counts.size;
    console.log(`snapshot fuzz (seed ${SEED}): ${records.length} records, ${counts.size} reported and left untouched, ${resumed} resumed to their end`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await backend.close();
  }
}

describe('snapshot fuzzer: every stored record is either resumed to its end or reported once and left byte for byte', () => {
  let captured: { snapshots: CapturedSnapshot[]; server: RatesServer; dir: string };
  beforeAll(async () => {
    captured = await captureSnapshots();
  }, 60_000);
  afterAll(async () => {
    await captured?.server.close();
    if (captured) rmSync(captured.dir, { recursive: true, force: true });
  });

  it('starts from real snapshots of every reference saga at many points', () => {
    const names = new Set(captured.snapshots.map((s) => s.sagaName));
    expect([...names].sort()).toEqual(fuzzSagas.map((s) => s.name).sort());
    expect(captured.snapshots.length).toBeGreaterThan(30);
    expect(new Set(captured.snapshots.map((s) => s.status))).toEqual(new Set(['running', 'waiting', 'compensating']));
  });

  it(`on SQLite (${RECORDS} mutations)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orsa-fuzz-db-'));
    const path = join(dir, 'fuzz.db');
    await fuzz(
      {
        store: new SqliteStore({ path, synchronous: 'NORMAL' }),
        async rows() {
          const db = new Database(path, { readonly: true });
          try {
            return new Map(db.prepare('SELECT * FROM orsa_sagas').all().map((row) => [(row as { id: string }).id, row]));
          } finally {
            db.close();
          }
        },
        async close() {
          rmSync(dir, { recursive: true, force: true });
        },
      },
      captured.snapshots,
    );
  }, 120_000);

  it.skipIf(!url && !ci)(`on PostgreSQL (${RECORDS} mutations)`, async () => {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: set it to the test server URL');
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const schema = `orsa_fuzz_${randomBytes(5).toString('hex')}`;
    await fuzz(
      {
        store: new PostgresStore({ pool, schema }),
        async rows() {
          const { rows } = await pool.query(`SELECT * FROM "${schema}".sagas`);
          return new Map(rows.map((row: { id: string }) => [row.id, row]));
        },
        async close() {
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await pool.end();
        },
      },
      captured.snapshots,
    );
  }, 120_000);
});
