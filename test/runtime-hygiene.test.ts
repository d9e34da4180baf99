import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, saga, type Runtime } from '../src/index.js';
import { MemoryStore } from '../src/stores/memory/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

/*
 * What a worker left running for weeks relies on: observers hear only what
 * happened, result() settles after they heard it, per-saga memory is freed,
 * and the files it creates are private.
 */

const dir = mkdtempSync(join(tmpdir(), 'orsa-hygiene-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runtimes: Runtime[] = [];
const track = (runtime: Runtime) => (runtimes.push(runtime), runtime);
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

const twoSteps = saga('two')
  .input<{ n: number }>()
  .step('a', ({ input }) => input.n + 1)
  .step('b', ({ results }) => results.a * 2)
  .build();

/** The runtime's per-saga bookkeeping sizes (private fields, read for this test only). */
function bookkeeping(runtime: Runtime) {
  const r = runtime as unknown as { live: Map<string, unknown>; waiters: { size: number }; announcing: Set<string> };
  return { live: r.live.size, waiters: r.waiters.size, announcing: r.announcing.size };
}

describe('observers and result()', () => {
  it('emits no step.started when a saga is started again with an id another worker already runs', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    const slow = saga('slow').step('wait', () => new Promise<number>(() => {})).build();
    const seenA: string[] = [];
    const seenB: string[] = [];
    const a = track(createRuntime({ sagas: [slow], store, clock, workerId: 'A', observer: (o) => seenA.push(o.type) }));
    const b = track(createRuntime({ sagas: [slow], store, clock, workerId: 'B', observer: (o) => seenB.push(o.type) }));
    await a.startSaga(slow, undefined, { id: 'order-1' });
    await clock.advance(10);
    await expect(b.startSaga(slow, undefined, { id: 'order-1' })).resolves.toEqual({ id: 'order-1', created: false });
    await clock.advance(10);
    expect(seenA.filter((t) => t === 'step.started')).toHaveLength(1);
    expect(seenB).toEqual([]);
    expect((await a.history('order-1')).filter((h) => h.type === 'step.started')).toHaveLength(1);
  });

  it('settles result() only once the observer has seen the saga end', async () => {
    const seen = new Map<string, string[]>();
    const runtime = track(
      createRuntime({
        sagas: [twoSteps],
        store: new MemoryStore(),
        observer: (o) => seen.set(o.sagaId, [...(seen.get(o.sagaId) ?? []), o.type]),
      }),
    );
    const ids = await Promise.all(Array.from({ length: 50 }, (_, n) => runtime.startSaga(twoSteps, { n }).then((r) => r.id)));
    await Promise.all(
      ids.map((id) =>
        runtime.result(id).then(() => {
          expect(seen.get(id)).toContain('saga.completed');
        }),
      ),
    );
  });
});

describe('memory', () => {
  it('frees every per-saga structure when sagas end and their callers stop waiting', async () => {
    const runtime = track(createRuntime({ sagas: [twoSteps], store: new MemoryStore() }));
    for (let round = 0; round < 5; round++) {
      const ids = await Promise.all(Array.from({ length: 40 }, (_, n) => runtime.startSaga(twoSteps, { n }).then((r) => r.id)));
      // Several callers per saga, some asking before it ends and some after.
      await Promise.all(ids.flatMap((id) => [runtime.result(id), runtime.result(id)]));
      await Promise.all(ids.map((id) => runtime.result(id)));
    }
    expect(bookkeeping(runtime)).toEqual({ live: 0, waiters: 0, announcing: 0 });
  });

  it('frees the waiter of a caller whose saga another worker finishes', async () => {
    const clock = createTestClock();
    const store = new MemoryStore();
    let release!: () => void;
    const gated = saga('gated').step('a', () => new Promise<number>((r) => (release = () => r(1)))).build();
    const runner = track(createRuntime({ sagas: [gated], store, clock, workerId: 'runner' }));
    const watcher = track(createRuntime({ sagas: [gated], store, clock, workerId: 'watcher', pollIntervalMs: 100 }));
    const { id } = await runner.startSaga(gated, undefined);
    const result = watcher.result(id);
    await clock.advance(350);
    expect(bookkeeping(watcher).waiters).toBe(1);
    release();
    await clock.advance(200);
    await expect(result).resolves.toEqual({ a: 1 });
    expect(bookkeeping(watcher)).toEqual({ live: 0, waiters: 0, announcing: 0 });
  });
});

describe('files', () => {
  it('creates the database directory 0700 and the database file 0600', async () => {
    const path = join(dir, 'private', 'orsa.db');
    const store = new SqliteStore({ path });
    await store.init();
    const runtime = track(createRuntime({ sagas: [twoSteps], store }));
    const { id } = await runtime.startSaga(twoSteps, { n: 1 });
    await runtime.result(id);
    expect(statSync(join(dir, 'private')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
  });
});
