/**
 * What bench:durable and bench:dbos share: the bench saga and the orsa side of a measured run.
 */
import { randomBytes } from 'node:crypto';
import { createRuntime, saga } from '../src/index.js';
import type { SagaStore } from '../src/store.js';

/** A saga of `steps` trivial steps, each returning about `resultBytes` of JSON and reading the previous result. */
export function benchSaga(steps: number, resultBytes: number) {
  const pad = 'x'.repeat(Math.max(0, resultBytes - 20));
  let b: any = saga(`bench-${steps}-${resultBytes}`).input<{ n: number }>();
  for (let i = 0; i < steps; i++) b = b.step(`s${i}`, ({ input, results }: any) => ({ n: (i === 0 ? input.n : results[`s${i - 1}`].n) + 1, pad }));
  return b.build();
}

type Stats = { stats(): { bytesWritten: number; writes: number; commits: number } };

/** Runs `sagas` sagas with `concurrency` in flight. */
export async function runOrsa(
  store: SagaStore & Stats,
  definition: ReturnType<typeof benchSaga>,
  steps: number,
  sagas: number,
  concurrency: number,
): Promise<{ stepsPerSec: number; commitsPerStep: number; bytesWrittenPerStep: number }> {
  const waiting = new Map<string, () => void>();
  const runtime = createRuntime({
    sagas: [definition],
    store,
    hooks: { onComplete: (record) => waiting.get(record.id)?.() },
    onError: (e) => console.error(e),
  });
  await runtime.start();
  const before = store.stats();
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
  const after = store.stats();
  await runtime.stop();
  const total = sagas * steps;
  return { stepsPerSec: total / seconds, commitsPerStep: (after.commits - before.commits) / total, bytesWrittenPerStep: (after.bytesWritten - before.bytesWritten) / total };
}

