/**
 * Fan-out: a batch of 1,000 parcels, each labelled and handed to a carrier,
 * 20 at a time, on the embedded SQLite store (a temp directory). One parcel,
 * picked at random, is refused by the carrier: the parcels under way are
 * aborted through their signal, every parcel that was handed over is recalled
 * (newest first), its label voided, and the batch itself is closed.
 *
 * Run:  npm run example:fanout
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, NonRetryableError, saga, SagaFailedError } from '../src/index.js';
import { SqliteStore } from '../src/sqlite.js';

const PARCELS = 1_000;
const refused = Math.floor(Math.random() * PARCELS);
const recalled: number[] = [];
let voided = 0;
let running = 0;
let mostRunning = 0;
let aborted = 0;

const shipping = saga('ship-batch')
  .input<{ batch: string; parcels: number }>()
  .step('openBatch', ({ input }) => ({ batch: input.batch }), { compensate: ({ result }) => console.log(`closed batch ${result.batch} without shipping`) })
  .map(
    'parcels',
    ({ input }) => Array.from({ length: input.parcels }, (_, i) => ({ parcel: `P-${String(i).padStart(4, '0')}`, grams: 200 + ((i * 37) % 900) })),
    (b) =>
      b
        .step('label', ({ item }) => `L-${item.parcel}`)
        .compensate(() => void voided++)
        .step(
          'handOver',
          async ({ item, index, results, signal }) => {
            running++;
            mostRunning = Math.max(mostRunning, running);
            try {
              await new Promise<void>((resolve, reject) => {
                const timer = setTimeout(resolve, 2 + (index % 5));
                signal.addEventListener('abort', () => (clearTimeout(timer), aborted++, reject(signal.reason)), { once: true });
              });
              if (index === refused) throw new NonRetryableError(`carrier refused ${item.parcel} (${item.grams} g)`);
              return { tracking: `T-${results.label}` };
            } finally {
              running--;
            }
          },
          { retry: 2, timeoutMs: 5_000, compensate: ({ index }) => void recalled.push(index) },
        ),
    { concurrency: 20 },
  )
  .step('closeBatch', ({ results }) => `${results.parcels.length} parcels shipped`)
  .build();

const dir = mkdtempSync(join(tmpdir(), 'orsa-fanout-'));
const store = new SqliteStore({ path: join(dir, 'sagas.db') });
let settle!: () => void;
const settled = new Promise<void>((resolve) => (settle = resolve));
const runtime = createRuntime({ sagas: [shipping], store, hooks: { onComplete: () => settle(), onAbort: () => settle() } });
await runtime.start();
console.log(`shipping ${PARCELS} parcels, 20 at a time; the carrier will refuse parcel #${refused}`);
const started = performance.now();
const { id } = await runtime.startSaga(shipping, { batch: 'B-42', parcels: PARCELS });
await settled;
try {
  const results = await runtime.result<{ closeBatch: string }>(id);
  console.log(`completed: ${results.closeBatch}`);
} catch (error) {
  if (!(error instanceof SagaFailedError)) throw error;
  console.log(`rolled back after ${Math.round(performance.now() - started)} ms: ${error.error?.message}`);
  console.log(`  cause: ${error.error?.cause?.message}`);
  console.log(`  at most ${mostRunning} parcels were under way at once; ${aborted} aborted through their signal when #${refused} failed`);
  console.log(`  recalled ${recalled.length} handed-over parcels, newest first: #${recalled.slice(0, 8).join(', #')}${recalled.length > 8 ? ', …' : ''}`);
  console.log(`  voided ${voided} labels; ${error.report.compensated.length} compensations in all, still undone: ${error.report.undone.length}`);
}
console.log(`store: ${JSON.stringify(store.stats())}`);
await runtime.stop();
await store.close();
rmSync(dir, { recursive: true, force: true });
