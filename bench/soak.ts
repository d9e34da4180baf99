/**
 * Memory soak: sagas run at a steady load on a SQLite file for a bounded time,
 * and the heap after a full GC is sampled against the number of sagas
 * finished. A worker that keeps nothing per finished saga has a flat heap: the
 * least-squares slope, in bytes per saga, is ~0 (target: below 1 byte per
 * saga over at least 50,000 sagas). Each saga is awaited with result(), the
 * way a service awaits it. The baseline is the same loop running the saga in
 * memory (`definition.run`, no runtime, no store), measured in the same run.
 * One JSON line per configuration:
 *   { config, heapBytesPerSaga, sagas, seconds, sagasPerSec, samples, heapStartBytes, heapEndBytes }
 * Run: npm run bench:soak   (SOAK_SECONDS, default 60; SOAK_BASELINE_SECONDS, default 10;
 * SOAK_CONCURRENCY, default 50). Needs --expose-gc (scripts/run-bench.mjs passes it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, saga } from '../src/index.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { heapAfterGc, slope } from './heap.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const BASELINE_SECONDS = Number(process.env.SOAK_BASELINE_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 50);
/** Skipped before sampling: module and statement caches, JIT, the first pages of SQLite's cache. */
const WARMUP_FRACTION = 0.2;
const SAMPLES = 40;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('bench/soak.ts needs --expose-gc: run it with npm run bench:soak');
  process.exit(2);
}

const definition = saga('soak')
  .input<{ n: number }>()
  .step('reserve', ({ input }) => ({ ref: `r-${input.n}` }), { compensate: () => {} })
  .step('confirm', ({ results }) => results.reserve.ref.length)
  .build();



/**
 * Runs `one` with `CONCURRENCY` in flight for `seconds`, sampling the heap
 * after GC at even intervals once the warm-up is over.
 */
async function soak(config: string, seconds: number, one: (n: number) => Promise<unknown>): Promise<void> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const warmupEnd = started + seconds * 1000 * WARMUP_FRACTION;
  const every = ((1 - WARMUP_FRACTION) * seconds * 1000) / SAMPLES;
  let nextSample = warmupEnd;
  let finished = 0;
  let next = 0;
  const points: [number, number][] = [];
  const lane = async () => {
    while (performance.now() < deadline) {
      await one(next++);
      finished++;
      // A macrotask turn between sagas: SQLite calls are synchronous and in-memory runs are all
      // microtasks, so without it the lanes would starve the sampler's timer (and any worker's timers).
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const sampler = async () => {
    while (performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (performance.now() >= nextSample) {
        points.push([finished, heapAfterGc()]);
        nextSample += every;
      }
    }
  };
  await Promise.all([...Array.from({ length: CONCURRENCY }, lane), sampler()]);
  const elapsed = (performance.now() - started) / 1000;
  const measured = points.length > 1 ? points[points.length - 1]![0] - points[0]![0] : 0;
  console.log(
    JSON.stringify({
      config,
      heapBytesPerSaga: Number(slope(points).toFixed(3)),
      sagas: finished,
      sagasMeasured: measured,
      seconds: Number(elapsed.toFixed(1)),
      sagasPerSec: Math.round(finished / elapsed),
      samples: points.length,
      heapStartBytes: points[0]?.[1] ?? null,
      heapEndBytes: points[points.length - 1]?.[1] ?? null,
    }),
  );
}

const dir = mkdtempSync(join(tmpdir(), 'orsa-soak-'));
try {
  await soak('baseline: definition.run in memory', BASELINE_SECONDS, (n) => definition.run({ n }));
  // NORMAL: a soak measures memory, not fsync; it lets one core run enough sagas in a minute.
  const runtime = createRuntime({ sagas: [definition], store: new SqliteStore({ path: join(dir, 'soak.db'), synchronous: 'NORMAL' }) });
  await runtime.start();
  await soak('runtime: SQLite, startSaga + result', SECONDS, async (n) => {
    const { id } = await runtime.startSaga(definition, { n });
    return runtime.result(id);
  });
  await runtime.stop();
  await runtime.store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
