/**
 * orsa beside DBOS Transact on the same PostgreSQL: the 3-step saga of
 * bench:durable (100-byte results) and the same 3-step DBOS workflow
 * (bench/dbos/run.mjs), sequential and 50 concurrent, rounds interleaved in
 * one run. One JSON line per configuration:
 *   { store: 'postgres', concurrency, stepsPerSec, dbosStepsPerSec, ratioVsDbos }
 * DBOS (@dbos-inc/dbos-sdk, pinned in bench/dbos/package.json) is installed on
 * demand with `npm install --prefix bench/dbos`, so orsa's own install does not
 * pull it in; it runs in a child process with its own system database
 * (BENCH_DBOS_DATABASE, default orsa_bench_dbos, created when missing) and
 * a pool as large as orsa's. When DBOS cannot be installed or started, the
 * DBOS side is skipped with a note on stderr and orsa's figure printed alone.
 * Knobs: BENCH_ROUNDS=3 BENCH_STEPS_PG=1500 (steps per sequential run; 3× at 50 concurrent).
 * Run: npm run bench:dbos   (PostgreSQL from ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { benchSaga, runOrsa } from './orsa-run.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STEPS_PER_RUN = Number(process.env.BENCH_STEPS_PG ?? 1500);
const PG_URL = process.env.ORSA_BENCH_PG_URL ?? process.env.ORSA_TEST_PG_URL;
const DBOS_DATABASE = process.env.BENCH_DBOS_DATABASE ?? 'orsa_bench_dbos';
const POOL_MAX = 20; // orsa's pool, and DBOS's system database pool
const STEPS = 3;
// npm run sets the working directory to the package root; the bundle itself lives under node_modules.
const DBOS_DIR = join(process.cwd(), 'bench', 'dbos');

/** Installs DBOS into bench/dbos when it is not there yet; a reason when that fails. */
async function installDbos(): Promise<string | undefined> {
  if (existsSync(join(DBOS_DIR, 'node_modules', '@dbos-inc', 'dbos-sdk'))) return undefined;
  console.error('bench:dbos: installing @dbos-inc/dbos-sdk into bench/dbos (npm install --prefix bench/dbos) …');
  try {
    await run('npm', ['install', '--prefix', DBOS_DIR, '--no-audit', '--no-fund'], { timeout: 300_000 });
    return undefined;
  } catch (e) {
    return `npm install --prefix bench/dbos failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

/** The DBOS system database, on the same server as orsa's: created when missing. */
async function dbosDatabaseUrl(): Promise<string> {
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DBOS_DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DBOS_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL!);
  url.pathname = `/${DBOS_DATABASE}`;
  return url.toString();
}

/** One DBOS run in a fresh child process; steps per second of the measured part (launch and a warm-up excluded). */
async function runDbos(url: string, sagas: number, concurrency: number): Promise<number> {
  const { stdout } = await run(process.execPath, [join(DBOS_DIR, 'run.mjs'), url, String(sagas), String(concurrency), String(POOL_MAX)], {
    cwd: DBOS_DIR,
    timeout: 600_000,
  });
  const line = stdout.trim().split('\n').pop()!;
  return (JSON.parse(line) as { stepsPerSec: number }).stepsPerSec;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  if (!PG_URL) {
    console.error('bench:dbos skipped: set ORSA_BENCH_PG_URL or ORSA_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)');
    return;
  }
  let dbosSkipped = await installDbos();
  let dbosUrl = '';
  if (!dbosSkipped) {
    try {
      dbosUrl = await dbosDatabaseUrl();
      await runDbos(dbosUrl, 1, 1); // can it start at all?
    } catch (e) {
      dbosSkipped = `DBOS could not start: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`;
    }
  }
  if (dbosSkipped) console.error(`bench:dbos: DBOS side skipped (${dbosSkipped}); orsa measured alone, dbosStepsPerSec null`);
  const schema = `orsa_bench_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: POOL_MAX });
  try {
    const store = new PostgresStore({ pool, schema });
    await store.init();
    const definition = benchSaga(STEPS, 100);
    for (const concurrency of [1, 50]) {
      const sagas = Math.max(concurrency, Math.round((STEPS_PER_RUN * (concurrency > 1 ? 3 : 1)) / STEPS));
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate, so that drift of a shared machine hits both sides alike.
        if (!dbosSkipped) theirs.push(await runDbos(dbosUrl, sagas, concurrency));
        ours.push((await runOrsa(store, definition, STEPS, sagas, concurrency)).stepsPerSec);
      }
      const stepsPerSec = Math.round(median(ours));
      const dbosStepsPerSec = dbosSkipped ? null : Math.round(median(theirs));
      console.log(
        JSON.stringify({
          store: 'postgres',
          concurrency,
          stepsPerSec,
          dbosStepsPerSec,
          ratioVsDbos: dbosStepsPerSec ? +(stepsPerSec / dbosStepsPerSec).toFixed(3) : null,
        }),
      );
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  }
}

void main();
