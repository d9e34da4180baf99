import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, saga, type Runtime } from '../src/index.js';
import { PostgresStore } from '../src/stores/postgres/store.js';

const url = process.env.ORSA_TEST_PG_URL;
const ci = Boolean(process.env.CI);
if (!url && !ci) console.warn('PostgreSQL wake-up tests skipped: set ORSA_TEST_PG_URL to run them');

/** The workers' poll interval and lease: nothing but a wake-up can make them look before this. */
const POLL_MS = 60_000;
/** How long a test waits for what a wake-up should bring: half the poll interval, so the poll cannot be what brought it. */
const BEFORE_POLL_MS = POLL_MS / 2;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a failure once the worker's next poll would have been due: the wake-up path did not work. */
function beforeThePoll<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer!: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not before the worker's next poll (${POLL_MS} ms): no wake-up reached it`)), BEFORE_POLL_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const waiter = saga('waiter').version('1').input<number>().waitFor('go', { event: 'go' }).step('after', ({ input }) => input + 1).build();

/** `hold`: step a never finishes in this worker (it is stopped inside it). */
const worker = (hold: boolean) =>
  saga('worker')
    .version('1')
    .step('a', () => (hold ? new Promise<number>(() => {}) : 41))
    .step('b', ({ results }) => results.a + 1)
    .build();

describe('wake-ups in one process (MemoryStore)', { timeout: 45_000 }, () => {
  it('an event sent through one runtime is handled by another sharing the store, on a clock that never moves (no poll)', async () => {
    const store = new MemoryStore();
    const clock = createTestClock();
    // Runs another saga only: it cannot take the waiter itself.
    const sender = createRuntime({ sagas: [worker(false)], store, clock, onError: (e) => expect.fail(String(e)) });
    const receiver = createRuntime({ sagas: [waiter], store, clock, onError: (e) => expect.fail(String(e)) });
    await receiver.start();
    await sender.start();
    const { id } = await receiver.startSaga(waiter, 1);
    while ((await store.get(id))?.status !== 'waiting') await pause(1);
    await sender.send(id, 'go');
    expect(await receiver.result(id)).toEqual({ go: null, after: 2 });
    await sender.stop();
    await receiver.stop();
  });
});

describe.skipIf(!url && !ci)('wake-ups across processes (PostgreSQL LISTEN/NOTIFY)', { timeout: 45_000 }, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const task of cleanup.splice(0).reverse()) await task().catch(() => {});
  });

  /** A fresh schema, dropped after the test. */
  function newSchema(): string {
    if (!url) throw new Error('ORSA_TEST_PG_URL is not set, and CI is: set it to the test server URL');
    const schema = `orsa_wake_${randomBytes(5).toString('hex')}`;
    cleanup.push(async () => {
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });
    return schema;
  }

  /** A runtime on a store (and pool) of its own: as another process would have. */
  function runtimeOn(schema: string, sagas: Parameters<typeof createRuntime>[0]['sagas'], errors: unknown[] = []): Runtime {
    const store = new PostgresStore({ connectionString: url!, schema });
    const runtime = createRuntime({ sagas, store, pollIntervalMs: POLL_MS, leaseMs: POLL_MS * 2, onError: (e) => errors.push(e) });
    cleanup.push(async () => {
      await runtime.stop();
      await store.close();
    });
    return runtime;
  }

  async function waitForStatus(runtime: Runtime, id: string, status: string): Promise<void> {
    while ((await runtime.get(id))?.status !== status) await pause(5);
  }

  it('an event sent by another store is handled by the worker at once, not at its next poll', async () => {
    const schema = newSchema();
    const errors: unknown[] = [];
    const receiver = runtimeOn(schema, [waiter], errors);
    await receiver.start();
    // Never started: it only stores the event, as a web process would.
    const sender = runtimeOn(schema, [waiter], errors);
    await sender.store.init();
    for (let i = 0; i < 3; i++) {
      const { id } = await receiver.startSaga(waiter, i);
      await waitForStatus(receiver, id, 'waiting');
      await sender.send(id, 'go');
      expect(await beforeThePoll(receiver.result(id), 'the event sent by the other store')).toEqual({ go: null, after: i + 1 });
    }
    expect(errors).toEqual([]);
  });

  it('a saga released by a stopped worker is taken over by another at once, not when the lease would have run out', async () => {
    const schema = newSchema();
    const errors: unknown[] = [];
    const stopping = runtimeOn(schema, [worker(true)], errors);
    const taker = runtimeOn(schema, [worker(false)], errors);
    await taker.start();
    await stopping.start();
    const { id } = await stopping.startSaga(worker(true), undefined);
    await stopping.stop();
    expect(await beforeThePoll(taker.result(id), 'the released saga')).toEqual({ a: 41, b: 42 });
    expect(errors).toEqual([]);
  });

  it('listens again after its connection is killed (reported once as STORE_UNAVAILABLE), and wake-ups resume', async () => {
    const schema = newSchema();
    const errors: unknown[] = [];
    const receiver = runtimeOn(schema, [waiter], errors);
    await receiver.start();
    const sender = runtimeOn(schema, [waiter], []);
    await sender.store.init();
    const admin = new pg.Pool({ connectionString: url!, max: 1 });
    cleanup.push(() => admin.end());
    const listen = `LISTEN "orsa_wake_${createHash('md5').update(schema).digest('hex')}"`;
    const listeners = async () => (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [listen])).rows.map((r) => r.pid);
    const [killed, ...others] = await listeners();
    expect(killed).toBeDefined();
    expect(others).toEqual([]);
    await admin.query('SELECT pg_terminate_backend($1)', [killed]);
    // The listener's new connection runs the same LISTEN.
    for (;;) {
      const now = await listeners();
      if (now.length === 1 && now[0] !== killed) break;
      await pause(10);
    }
    const { id } = await receiver.startSaga(waiter, 7);
    await waitForStatus(receiver, id, 'waiting');
    await sender.send(id, 'go');
    expect(await beforeThePoll(receiver.result(id), 'the event sent after the reconnection')).toEqual({ go: null, after: 8 });
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['STORE_UNAVAILABLE']);
    expect(String(errors[0])).toMatch(/listening for wake-ups/);
  });

  it('a store with listen: false has no subscription (its workers poll)', () => {
    const store = new PostgresStore({ connectionString: url!, schema: 'orsa_unused', listen: false });
    expect(store.subscribe).toBeUndefined();
    cleanup.push(() => store.close());
  });
});
