/**
 * ORSA's manager example, on orsa's durable runtime: start several sagas on
 * the embedded SQLite store, kill the process mid-way (SIGKILL: no cleanup at
 * all), start it again, and watch every saga finish where it stopped.
 *
 * Run:  npm run example:manager
 * The database is a temporary file; `--db PATH` keeps it, so `orsa list --db PATH` can show it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, NonRetryableError, saga } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A transfer: debit, credit (slow), notify; amounts above 900 are refused at the end and rolled back. */
const transfer = saga('transfer')
  .input<{ from: string; to: string; amount: number }>()
  .step('debit', async ({ input }) => (await pause(150), { account: input.from, amount: input.amount }), {
    compensate: async ({ result }) => void (await pause(50), console.log(`    ⤺ refund ${result.amount} to ${result.account}`)),
  })
  .step('credit', async ({ input }) => (await pause(300), { account: input.to, amount: input.amount }), {
    compensate: async ({ result }) => void (await pause(50), console.log(`    ⤺ take back ${result.amount} from ${result.account}`)),
  })
  .sleep('clearing', 400)
  .step('notify', async ({ input }) => {
    await pause(100);
    if (input.amount > 900) throw new NonRetryableError(`transfers above 900 need approval (got ${input.amount})`);
    return `sent ${input.amount} from ${input.from} to ${input.to}`;
  })
  .build();

const args = process.argv.slice(2);
const dbIndex = args.indexOf('--db');
const db = dbIndex >= 0 ? args[dbIndex + 1]! : join(mkdtempSync(join(tmpdir(), 'orsa-manager-')), 'orsa.db');

/** One worker process: resumes what the store holds, starts the sagas (each id once), runs until all ended. */
async function worker(life: string): Promise<void> {
  const store = new SqliteStore({ path: db });
  const runtime = createRuntime({
    sagas: [transfer],
    store,
    leaseMs: 1_000,
    pollIntervalMs: 200,
    observer: (o) => {
      if (o.type === 'step.started' || o.type === 'step.completed') console.log(`  [${life}] ${o.sagaId} ${o.type} ${o.step}`);
    },
    hooks: {
      onStartup: () => console.log(`  [${life}] started: resuming what the store holds`),
      onComplete: (record, results) => console.log(`  [${life}] ✔ ${record.id} completed: ${(results as { notify: string }).notify}`),
      onAbort: (record, error) => console.log(`  [${life}] ✘ ${record.id} ${error.status}: ${error.message}`),
    },
  });
  await runtime.start();
  const amounts = [120, 450, 980, 75];
  for (const [i, amount] of amounts.entries()) {
    await runtime.startSaga(transfer, { from: `acct-${i}`, to: `acct-${i + 10}`, amount }, { id: `transfer-${i + 1}` });
  }
  for (;;) {
    const open = await runtime.list({ status: ['running', 'waiting', 'compensating'] });
    if (open.length === 0) break;
    await pause(100);
  }
  console.log(`  [${life}] all sagas ended`);
  await runtime.stop();
}

function run(life: string, killAfterMs?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--worker', life, '--db', db], { stdio: 'inherit' });
    if (killAfterMs !== undefined) {
      setTimeout(() => {
        console.log(`\n💥 SIGKILL to the first process after ${killAfterMs} ms\n`);
        child.kill('SIGKILL');
      }, killAfterMs);
    }
    child.on('exit', (code, signal) => (signal === 'SIGKILL' || code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  });
}

if (args[0] === '--worker') {
  await worker(args[1]!);
} else {
  console.log(`database: ${db}\n\nfirst process: starts 4 transfers`);
  await run('first', 700);
  const store = new SqliteStore({ path: db });
  await store.init();
  console.log('stored after the kill:');
  for (const r of await store.list()) console.log(`  ${r.id.padEnd(11)} ${r.status.padEnd(12)} owner ${r.owner ?? '-'}`);
  await store.close();
  console.log('\nsecond process: the same program, started again');
  await run('second');
  const after = new SqliteStore({ path: db });
  await after.init();
  console.log('\nfinal:');
  for (const r of (await after.list()).sort((a, b) => a.id.localeCompare(b.id))) console.log(`  ${r.id.padEnd(11)} ${r.status}`);
  await after.close();
}
