/**
 * Heap per saga parked on a timed sleep in one durable runtime (SQLite):
 * sagas are started in 10 batches up to `sagas`, each batch left parked,
 * and the heap after a full GC is sampled after each; the least-squares
 * slope in bytes per parked saga is `heapBytesPerTimedWait` (target 0).
 * The baseline, in the same run: the same with an untimed wait (an event
 * wait without timeout), `heapBytesPerUntimedWait`. Needs --expose-gc.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, saga } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { heapAfterGc, slope } from './heap.js';

const HOUR_MS = 3_600_000;
const BATCHES = 10;

const timed = saga('timedWait').version('1').input<number>().sleep('nap', HOUR_MS).step('b', ({ input }) => input).build();
const untimed = saga('untimedWait').version('1').input<number>().waitFor('go', { event: 'go' }).step('b', ({ input }) => input).build();



/** Bytes of heap per parked saga of `definition`, over `sagas` sagas in one runtime. */
async function heapSlope(definition: typeof timed | typeof untimed, sagas: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'orsa-heap-'));
  const store = new SqliteStore({ path: join(dir, 'orsa.db'), synchronous: 'NORMAL' });
  const runtime = createRuntime({ sagas: [definition], store, onError: (e) => console.error(e) });
  await runtime.start();
  const points: [number, number][] = [[0, heapAfterGc()]];
  const perBatch = Math.max(1, Math.floor(sagas / BATCHES));
  let started = 0;
  try {
    for (let batch = 0; batch < BATCHES; batch++) {
      const end = started + perBatch;
      const lane = async () => {
        while (started < end) {
          const i = started++;
          await runtime.startSaga(definition, i, { id: `h-${i}` });
        }
      };
      await Promise.all(Array.from({ length: 20 }, lane));
      // Parked: every saga started is waiting (on its sleep or its event), none still being written.
      while (((await store.countByStatus()).waiting ?? 0) < started) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 50));
      points.push([started, heapAfterGc()]);
    }
  } finally {
    await runtime.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return slope(points);
}

/** Prints `{ store: 'sqlite', scenario: 'parkedWaits', sagas, heapBytesPerTimedWait, heapBytesPerUntimedWait }`. */
export async function measureHeapPerTimedWait(sagas: number): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) {
    console.error('heapBytesPerTimedWait skipped: needs --expose-gc (run it with npm run bench:resume)');
    return;
  }
  const heapBytesPerUntimedWait = await heapSlope(untimed, sagas);
  const heapBytesPerTimedWait = await heapSlope(timed, sagas);
  console.log(
    JSON.stringify({
      store: 'sqlite',
      scenario: 'parkedWaits',
      sagas,
      heapBytesPerTimedWait: Math.round(heapBytesPerTimedWait),
      heapBytesPerUntimedWait: Math.round(heapBytesPerUntimedWait),
    }),
  );
}
