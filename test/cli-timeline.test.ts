import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { createRuntime, createTestClock, saga } from '../src/index.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const dir = mkdtempSync(join(tmpdir(), 'orsa-cli-timeline-'));
const db = join(dir, 'sagas.db');
const HOSTILE = 'evil\x1b[2J\x1b]0;owned\x07\u009b31m\u202e';

async function cli(args: string[], options: { signal?: AbortSignal } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { log: (s) => out.push(s), error: (s) => err.push(s) }, options);
  return { code, out: out.join('\n'), err: err.join('\n'), chunks: out };
}

const long = 'x'.repeat(400);
const shipping = saga('shipping')
  .step('pack', () => ({ box: long }))
  .sleep('coolDown', 5_000)
  .step('ship', () => 'shipped')
  .build();
let calls = 0;
const handover = saga('handover')
  .step('prepare', () => 'ready')
  // The first worker's call never returns (as if the worker hung or died); the second finishes.
  .step('transfer', () => (++calls === 1 ? new Promise<never>(() => {}) : 'moved'))
  .build();
const hostile = saga('hostile')
  .step('boom', () => {
    throw new Error(`bad\x1b[31m red ${HOSTILE}`);
  })
  .build();
const waiting = saga('waiting').waitFor('go', { event: 'go' }).step('after', () => 'done').build();

const clock = createTestClock();
let store: SqliteStore;
let runtime: ReturnType<typeof createRuntime>;

beforeAll(async () => {
  store = new SqliteStore({ path: db });
  runtime = createRuntime({ sagas: [shipping, hostile, waiting], store, clock, workerId: 'worker-w' });
  await runtime.startSaga(shipping, undefined, { id: 'ship-1' });
  await runtime.startSaga(hostile, undefined, { id: 'hostile-1' });
  await runtime.startSaga(waiting, undefined, { id: 'wait-1' });
  await clock.advance(6_000);
  await expect(runtime.result('ship-1')).resolves.toMatchObject({ ship: 'shipped' });
  // orsa refuses such an id today; a record written by hand or by an older version may still carry one.
  await expect(runtime.result('hostile-1')).rejects.toMatchObject({ status: 'compensated' });
  const raw = new Database(db);
  for (const table of ['orsa_sagas', 'orsa_history', 'orsa_inbox', 'orsa_journal']) {
    raw.prepare(`UPDATE ${table} SET ${table === 'orsa_sagas' ? 'id' : 'saga_id'} = ? WHERE ${table === 'orsa_sagas' ? 'id' : 'saga_id'} = 'hostile-1'`).run(HOSTILE);
  }
  raw.close();

  // Two workers on one store, each on its own clock: A's clock stands still, so A never renews its lease; B's passes its expiry.
  const clockA = createTestClock();
  const clockB = createTestClock();
  const a = createRuntime({ sagas: [handover], store, clock: clockA, workerId: 'worker-a', leaseMs: 1_000 });
  await a.startSaga(handover, undefined, { id: 'handover-1' });
  await clockA.advance(0);
  await clockB.advance(5_000);
  const b = createRuntime({ sagas: [handover], store, clock: clockB, workerId: 'worker-b', leaseMs: 1_000 });
  await b.start();
  await expect(b.result('handover-1')).resolves.toMatchObject({ transfer: 'moved' });
  await b.stop();
  await a.stop();
});

afterAll(async () => {
  await runtime.stop();
  await store.close();
});

describe('orsa show: the timeline', () => {
  it('starts at saga.started with +0 and never shows a negative offset', async () => {
    const { out } = await cli(['show', 'ship-1', '--db', db]);
    const rows = out.slice(out.indexOf('timeline')).split('\n').slice(2);
    expect(rows[0]).toMatch(/^\s+\+0\s+saga\.started\s+by worker worker-w/);
    for (const row of rows) expect(row).toMatch(/^\s+\+\d+\s/);
  });

  it('shows a .sleep() step with the time it wakes', async () => {
    const { out } = await cli(['show', 'ship-1', '--db', db]);
    expect(out).toMatch(/\+0\s+sleep\.started\s+coolDown\s+until 2026-01-01 00:00:05Z/);
    expect(out).toMatch(/\+5000\s+step\.started\s+ship/);
  });

  it('shows a takeover with both worker ids when another worker resumes a saga', async () => {
    const { out } = await cli(['show', 'handover-1', '--db', db]);
    expect(out).toMatch(/takeover\s+taken over by worker worker-b \(was worker-a\)/);
    const types = [...out.slice(out.indexOf('timeline')).matchAll(/^\s+\+\d+\s+(\S+)(?:\s+(\w+))?/gm)].map((m) => `${m[1]}${m[2] && m[1] !== 'saga.started' && m[1] !== 'takeover' ? ` ${m[2]}` : ''}`);
    expect(types).toEqual(['saga.started', 'step.started prepare', 'step.completed prepare', 'step.started transfer', 'takeover', 'step.started transfer', 'step.completed transfer', 'saga.completed']);
  });

  it('shows a takeover of a sleeping saga by the worker that wakes it, and a reload by the same worker as no takeover', async () => {
    async function sleepThenWake(name: string, firstWorker: string, secondWorker: string) {
      const napper = saga(name).step('before', () => 'b').sleep('nap', 60_000).step('after', () => 'a').build();
      const napClock = createTestClock();
      const first = createRuntime({ sagas: [napper], store, clock: napClock, workerId: firstWorker });
      await first.startSaga(napper, undefined, { id: `${name}-1` });
      await napClock.advance(10);
      await first.stop(); // gone while the saga sleeps
      const second = createRuntime({ sagas: [napper], store, clock: napClock, workerId: secondWorker });
      await second.start();
      await napClock.advance(70_000);
      await expect(second.result(`${name}-1`)).resolves.toMatchObject({ after: 'a' });
      await second.stop();
      return (await cli(['show', `${name}-1`, '--db', db])).out;
    }
    const other = await sleepThenWake('napper-other', 'worker-n1', 'worker-n2');
    expect(other).toMatch(/sleep\.started\s+nap.*\n\s+\+\d+\s+takeover\s+taken over by worker worker-n2 \(was worker-n1\)\n\s+\+\d+\s+step\.started\s+after/);
    const same = await sleepThenWake('napper-same', 'worker-m1', 'worker-m1');
    expect(same).not.toMatch(/takeover/);
    expect(same).toMatch(/saga\.resumed\s+resumed by worker worker-m1\n\s+\+\d+\s+step\.started\s+after/);
  });

  it("shows a completed saga's results cut short, and whole with --full", async () => {
    const { out } = await cli(['show', 'ship-1', '--db', db]);
    expect(out).toMatch(/results \(cut to 120 characters; --full for all\)/);
    const pack = out.split('\n').find((l) => l.startsWith('  pack'))!;
    expect(pack.length).toBeLessThan(140);
    expect(pack.endsWith('…')).toBe(true);
    expect(out).toMatch(/^ {2}ship\s+"shipped"$/m);
    const full = await cli(['show', 'ship-1', '--db', db, '--full']);
    expect(full.out).toContain(`{"box":"${long}"}`);
  });
});

describe('orsa CLI: what it prints is safe', () => {
  it('escapes control characters from ids and messages in list, show and JSON', async () => {
    for (const args of [['list'], ['show', HOSTILE], ['list', '--json'], ['show', HOSTILE, '--json']]) {
      const { out, code } = await cli([...args, '--db', db]);
      expect(code).toBe(0);
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    }
    const { out } = await cli(['show', HOSTILE, '--db', db]);
    expect(out).toContain('saga      evil\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202e');
    expect(out).toContain('error: bad\\x1b[31m red evil');
  });

  it('says a stored command waits for a worker, without claiming one is running', async () => {
    const { out } = await cli(['resume', 'wait-1', '--db', db]);
    expect(out).toMatch(/^stored: resume for saga wait-1 \(event #\d+\); a worker running "waiting" version \w+ will act on it when it runs$/);
  });
});

describe('orsa --watch', () => {
  it('prints a saga again when it changes and stops once it has ended', async () => {
    const controller = new AbortController();
    const chunks: string[] = [];
    const watching = main(['show', 'wait-1', '--db', db, '--watch', '--interval-ms', '50'], { log: (s) => chunks.push(s), error: (s) => chunks.push(s) }, { signal: controller.signal });
    // Send the event only once the first screen is out: otherwise the saga may end before the watch first reads it.
    await expect.poll(() => chunks.length).toBeGreaterThan(0);
    await runtime.send('wait-1', 'go');
    await clock.advance(1_000);
    expect(await watching).toBe(0);
    expect(chunks[0]).toMatch(/^\x1b\[2J\x1b\[H/);
    expect(chunks[0]).toMatch(/status\s+waiting/);
    expect(chunks.at(-1)).toMatch(/status\s+completed/);
  });

  it('lists until interrupted', async () => {
    const controller = new AbortController();
    const printed: string[] = [];
    const watching = main(['list', '--db', db, '--watch', '--interval-ms', '50'], { log: (s) => printed.push(s), error: (s) => printed.push(s) }, { signal: controller.signal });
    await expect.poll(() => printed.length).toBeGreaterThan(0);
    controller.abort();
    expect(await watching).toBe(0);
    expect(printed[0]).toMatch(/ship-1\s+shipping/);
  });
});

describe('orsa show: a long history', () => {
  it('shows a saga with hundreds of thousands of history entries (a long-running loop) instead of overflowing the stack', async () => {
    await runtime.startSaga(waiting, undefined, { id: 'long-1' });
    const raw = new Database(db);
    const first = (raw.prepare("SELECT MAX(seq) FROM orsa_history WHERE saga_id = 'long-1'").pluck().get() as number) + 1;
    const insert = raw.prepare("INSERT INTO orsa_history (saga_id, seq, at, type, step, attempt, data) VALUES ('long-1', ?, ?, 'step.started', 'go', 1, NULL)");
    raw.transaction(() => {
      for (let i = 0; i < 200_000; i++) insert.run(first + i, clock.now() + i);
    })();
    raw.close();
    const { code, out, err } = await cli(['show', 'long-1', '--db', db]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out.split('\n').filter((l) => /^\s+\+\d+\s+step\.started\s+go/.test(l)).length).toBeGreaterThanOrEqual(200_000);
  }, 60_000);
});

describe('orsa on SQLite', () => {
  it('does not add its tables to a SQLite file that is not an orsa store, and says what to pass', async () => {
    const other = join(dir, 'someone-else.db');
    const foreign = new Database(other);
    foreign.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
    foreign.close();
    const { code, err } = await cli(['list', '--db', other]);
    expect(code).toBe(1);
    expect(err).toContain(`the SQLite file ${other} holds no orsa tables (nothing was created); pass the file your workers use with --db PATH`);
    const check = new Database(other, { readonly: true });
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    check.close();
    expect(tables).toEqual(['invoices']);
  });

  it('says a file that is not SQLite cannot be read, and what to pass', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a database, just some notes\n'.repeat(20));
    const { code, err } = await cli(['show', 'x', '--db', text]);
    expect(code).toBe(1);
    expect(err).toMatch(/cannot read .*notes\.txt as a SQLite database \(.+\); pass the file your workers use with --db PATH/);
  });
});

const pgUrl = process.env.ORSA_TEST_PG_URL;
if (!pgUrl) console.warn('orsa CLI PostgreSQL specs skipped: set ORSA_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run them');
describe.skipIf(!pgUrl)('orsa on PostgreSQL', () => {
  it('does not create a schema or tables that do not exist, and says what to pass', async () => {
    const schema = `cli_${randomBytes(6).toString('hex')}`;
    const { code, err } = await cli(['list', '--pg', pgUrl!, '--schema', schema]);
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`schema "${schema}" holds no orsa tables \\(nothing was created\\); pass the schema your workers use with --schema`));
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
      expect(rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('lists the sagas of an existing schema', async () => {
    const schema = `cli_${randomBytes(6).toString('hex')}`;
    const pgStore = new PostgresStore({ connectionString: pgUrl!, schema });
    const pgClock = createTestClock();
    const worker = createRuntime({ sagas: [shipping], store: pgStore, clock: pgClock });
    try {
      await worker.startSaga(shipping, undefined, { id: 'pg-ship-1' });
      const { code, out } = await cli(['list', '--pg', pgUrl!, '--schema', schema]);
      expect(code).toBe(0);
      expect(out).toMatch(/pg-ship-1\s+shipping\s+\w+\s+waiting\s+coolDown/);
    } finally {
      await worker.stop();
      await pgStore.close();
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      await client.query(`DROP SCHEMA "${schema}" CASCADE`);
      await client.end();
    }
  });
});
