import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, saga, type Runtime } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { MemoryStore } from '../src/stores/memory/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';

/* `runtime.result(id, { signal })`: the caller stops waiting; the saga goes on, and nothing of the wait is left. */

const url = process.env.ORSA_TEST_PG_URL;
const dir = mkdtempSync(join(tmpdir(), 'orsa-result-signal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const runtimes: Runtime[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.stop();
  for (const done of cleanups.splice(0)) await done();
});

const approval = saga('approval')
  .step('reserve', () => 'r-1')
  .waitFor('approved', { event: 'order.approved' })
  .build();

/** The runtime's result() waiters, by saga id (private: read for the leak check only). */
const waiting = (runtime: Runtime) => (runtime as unknown as { waiters: { size: number } }).waiters.size;

/** Lets real I/O and the simulated clock move until `done` holds; asserts nothing about time. */
async function until(done: () => boolean, clock: { advance(ms: number): Promise<void> }): Promise<void> {
  for (let i = 0; i < 2_000 && !done(); i++) {
    await clock.advance(1);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const stores: [string, () => Promise<SagaStore>][] = [
  ['memory', async () => new MemoryStore()],
  ['SQLite file', async () => new SqliteStore({ path: join(dir, `result-${++files}.db`) })],
  [
    'PostgreSQL',
    async () => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      const schema = `orsa_result_${randomBytes(6).toString('hex')}`;
      cleanups.push(async () => (await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`), await pool.end()));
      return new PostgresStore({ pool, schema });
    },
  ],
];

describe.each(stores)('result(id, { signal }) on the %s store', (kind, make) => {
  const run = it.skipIf(kind === 'PostgreSQL' && !url && !process.env.CI);

  async function waitingSaga() {
    const clock = createTestClock();
    const runtime = createRuntime({ sagas: [approval], store: await make(), clock, onError: () => {} });
    runtimes.push(runtime);
    const { id } = await runtime.startSaga(approval, undefined);
    return { clock, runtime, id };
  }

  run("rejects with the signal's reason once it aborts, frees the waiter, and the saga goes on", async () => {
    const { clock, runtime, id } = await waitingSaga();
    const controller = new AbortController();
    let settled: unknown;
    const result = runtime.result(id, { signal: controller.signal }).catch((e: unknown) => (settled = e));
    await until(() => waiting(runtime) === 1, clock);
    expect(waiting(runtime)).toBe(1);
    const reason = new Error('the caller gave up');
    controller.abort(reason);
    await result;
    expect(settled).toBe(reason);
    expect(waiting(runtime)).toBe(0);
    await runtime.send(id, 'order.approved', 'yes');
    await expect(runtime.result(id)).resolves.toEqual({ reserve: 'r-1', approved: 'yes' });
    expect(waiting(runtime)).toBe(0);
  });

  run('rejects with an AbortError when aborted without a reason, and at once when the signal has already aborted', async () => {
    const { clock, runtime, id } = await waitingSaga();
    const controller = new AbortController();
    const result = runtime.result(id, { signal: controller.signal });
    await until(() => waiting(runtime) === 1, clock);
    controller.abort();
    await expect(result).rejects.toMatchObject({ name: 'AbortError' });
    await expect(runtime.result(id, { signal: AbortSignal.abort('too late') })).rejects.toBe('too late');
    expect(waiting(runtime)).toBe(0);
  });

  run('resolves as before when the signal never aborts, and aborting it afterwards changes nothing', async () => {
    const { clock, runtime, id } = await waitingSaga();
    const controller = new AbortController();
    const result = runtime.result(id, { signal: controller.signal });
    await until(() => waiting(runtime) === 1, clock);
    await runtime.send(id, 'order.approved', 'yes');
    await expect(result).resolves.toEqual({ reserve: 'r-1', approved: 'yes' });
    controller.abort(new Error('late'));
    expect(waiting(runtime)).toBe(0);
  });
});

describe('result(id) and a write that commits while its read is in flight', () => {
  it('is woken by that write: no lost wake-up, no wait for the poll timer (the simulated clock never moves)', async () => {
    const store = new MemoryStore();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let ended!: () => void;
    const committed = new Promise<void>((resolve) => (ended = resolve));
    let holdNextRead = false;
    // The read returns what it read before the saga's last write, but only after that write has committed.
    const slowReads = new Proxy(store, {
      get(target, prop) {
        if (prop === 'get') {
          return async (id: string) => {
            const record = await target.get(id);
            if (holdNextRead) {
              holdNextRead = false;
              await committed;
              // and after the runtime's wake-up of that write has gone out (a few turns of real time later)
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
            return record;
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const slow = saga('slow').step('work', async () => (await released, 'done')).build();
    const clock = createTestClock();
    const runtime = createRuntime({ sagas: [slow], store: slowReads, clock, hooks: { onComplete: () => ended() } });
    runtimes.push(runtime);
    await runtime.start();
    const { id } = await runtime.startSaga(slow, undefined);
    holdNextRead = true;
    const result = runtime.result(id);
    release();
    const hung = new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s of real time'), 5_000));
    await expect(Promise.race([result, hung])).resolves.toEqual({ work: 'done' });
    expect(waiting(runtime)).toBe(0);
  });
});
