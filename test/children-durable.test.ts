import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createTestClock, MemoryStore, NonRetryableError, saga, SagaFailedError, type Runtime, type TestClock } from '../src/index.js';
import type { SagaStore } from '../src/store.js';
import { PostgresStore } from '../src/stores/postgres/store.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';
import { listText, showText } from '../src/cli/commands.js';

/*
 * Child sagas on the durable runtime, on every store: the child is a record
 * of its own linked to its parent, the parent waits unloaded and is woken by
 * the child's end (a command its final write stores in the parent's inbox),
 * across runtimes that share a database.
 */

const url = process.env.ORSA_TEST_PG_URL;
const dir = mkdtempSync(join(tmpdir(), 'orsa-children-'));
const pools: pg.Pool[] = [];
const schemas: string[] = [];
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (pools[0]) for (const schema of schemas) await pools[0].query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await Promise.all(pools.map((p) => p.end()));
});

const runtimes: Runtime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop()));
});

/** A database and a way to open another store instance on it (another process would). */
type Database = { open: () => SagaStore; shared: boolean };
const databases: [string, () => Database][] = [
  ['memory', () => {
    const store = new MemoryStore();
    return { open: () => store, shared: false };
  }],
  ['SQLite file', () => {
    const path = join(dir, `${randomBytes(6).toString('hex')}.db`);
    return { open: () => new SqliteStore({ path }), shared: true };
  }],
];
if (url || process.env.CI) {
  databases.push(['PostgreSQL', () => {
    const schema = `orsa_children_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    return {
      open: () => {
        const pool = new pg.Pool({ connectionString: url, max: 4 });
        pools.push(pool);
        return new PostgresStore({ pool, schema });
      },
      shared: true,
    };
  }]);
}

/** A dropped connection, as pg reports it: a transient fault. */
const connectionReset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** The store with some methods replaced (a store that fails on cue); the others are its own. */
function overriding(store: SagaStore, replace: (target: SagaStore) => Partial<SagaStore>): SagaStore {
  const replaced = replace(store) as Record<string | symbol, unknown>;
  return new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(replaced, prop)) return replaced[prop];
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Lets a database round trip finish (no time is measured: the simulated clock does not move). */
const io = () => new Promise((resolve) => setTimeout(resolve, 2));

/** Advances the simulated clock until the promise settles (polls and waits run on it), letting database I/O finish in between. */
async function settled<T>(clock: TestClock, promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => {});
  for (let i = 0; i < 2_000 && !done; i++) {
    await clock.advance(20);
    await io();
  }
  if (!done) throw new Error('the saga did not settle within 40 s of simulated time');
  return watched;
}

function sagas(log: string[], opts: { declineAbove?: number; failShip?: boolean } = {}) {
  const payment = saga('payment')
    .input<{ orderId: string; amount: number }>()
    .step('charge', ({ input, idempotencyKey }) => {
      log.push(`charge ${idempotencyKey}`);
      if (opts.declineAbove !== undefined && input.amount > opts.declineAbove) throw new NonRetryableError('card declined');
      return { chargeId: `ch-${input.orderId}` };
    }, { compensate: ({ idempotencyKey }) => void log.push(`refund ${idempotencyKey}`) })
    .waitFor('settled', { event: 'bank.settled' })
    .step('receipt', ({ results }) => ({ receipt: `r-${results.charge.chargeId}` }), {
      compensate: ({ idempotencyKey }) => void log.push(`void ${idempotencyKey}`),
    })
    .build();
  const order = saga('order')
    .input<{ orderId: string; amount: number }>()
    .step('reserve', ({ idempotencyKey }) => (log.push(`reserve ${idempotencyKey}`), 'res-1'), {
      compensate: ({ idempotencyKey }) => void log.push(`release ${idempotencyKey}`),
    })
    .child('payment', payment, ({ input }) => input)
    .step('ship', ({ results, idempotencyKey }) => {
      log.push(`ship ${idempotencyKey}`);
      if (opts.failShip) throw new NonRetryableError('no courier');
      return `parcel for ${results.payment.receipt.receipt}`;
    })
    .build();
  return { payment, order };
}

describe.each(databases)('child sagas on %s', (_kind, database) => {
  async function runtime(db: Database, sagasToRun: Parameters<typeof createRuntime>[0]['sagas'], clock: TestClock, workerId: string, pollIntervalMs = 100) {
    const errors: unknown[] = [];
    const r = createRuntime({ sagas: sagasToRun, store: db.open(), clock, workerId, leaseMs: 5_000, pollIntervalMs, onError: (e) => errors.push(e) });
    runtimes.push(r);
    await r.start();
    return Object.assign(r, { errors });
  }

  /** Starts the order and waits until its child waits for the bank: the parent is then unloaded and waiting. */
  async function startOrder(r: Runtime, clock: TestClock, order: ReturnType<typeof sagas>['order'], id: string, amount = 10) {
    await r.startSaga(order, { orderId: id, amount }, { id });
    for (let i = 0; i < 500 && (await r.get(`${id}:payment#1`))?.status !== 'waiting'; i++) await io();
    for (let i = 0; i < 500 && (await r.get(id))?.status !== 'waiting'; i++) await io();
  }

  it('runs the child as a saga of its own, linked to its parent; the parent waits unloaded and gets the typed result', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log);
    const a = await runtime(db, [order], clock, 'A');
    await startOrder(a, clock, order, 'o1');
    const parent = await a.store.get('o1');
    expect(parent).toMatchObject({ status: 'waiting', owner: null });
    expect(parent!.parentId).toBeUndefined();
    const [child] = await a.store.list({ parentId: 'o1' });
    expect(child).toMatchObject({ id: 'o1:payment#1', sagaName: 'payment', parentId: 'o1', status: 'waiting' });
    await a.send('o1:payment#1', 'bank.settled', { ok: true });
    const results = await settled(clock, a.result<{ ship: string; payment: { receipt: { receipt: string } } }>('o1'));
    expect(results.ship).toBe('parcel for r-ch-o1');
    expect(results.payment.receipt.receipt).toBe('r-ch-o1');
    // The parent's end released the child: it completed too.
    await settled(clock, a.result('o1:payment#1'));
    expect((await a.store.get('o1:payment#1'))?.status).toBe('completed');
    expect(log).toEqual(['reserve o1:reserve#1', 'charge o1:payment#1:charge#1', 'ship o1:ship#1']);
    // The timelines and the CLI show them linked.
    expect((await a.history('o1')).find((e) => e.type === 'child.started')).toMatchObject({ step: 'payment', data: { childId: 'o1:payment#1' } });
    expect((await a.history('o1:payment#1'))[0]).toMatchObject({ type: 'saga.started', data: { worker: 'A', parentId: 'o1' } });
    expect((await showText(a.store, 'o1', {})).text).toContain('children\n  o1:payment#1  payment  completed');
    expect((await showText(a.store, 'o1:payment#1', {})).text).toContain('parent    o1');
    const listed = (await listText(a.store, { parent: 'o1' })).text.split('\n');
    expect(listed[0]).toMatch(/ID\s+SAGA.*PARENT/);
    expect(listed.slice(1)).toEqual([expect.stringMatching(/^o1:payment#1\s+payment\s.*\scompleted\s.*\so1$/)]);
    expect(a.errors).toEqual([]);
  });

  it('fails the child step when the child fails: the parent compensates its earlier steps', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log, { declineAbove: 100 });
    const a = await runtime(db, [order], clock, 'A');
    await a.startSaga(order, { orderId: 'o2', amount: 500 }, { id: 'o2' });
    const error = await settled(clock, a.result('o2')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SagaFailedError);
    expect(error).toMatchObject({ status: 'compensated', step: 'payment', error: { code: 'CHILD_FAILED' } });
    expect((await a.store.get('o2:payment#1'))?.status).toBe('compensated');
    expect(log).toEqual(['reserve o2:reserve#1', 'charge o2:payment#1:charge#1', 'release o2:reserve#1:compensate']);
    expect(a.errors).toEqual([]);
  });

  it('rolls a completed child back when the parent fails after it: compensated once each, in reverse; the child ends compensated', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log, { failShip: true });
    const a = await runtime(db, [order], clock, 'A');
    await startOrder(a, clock, order, 'o3');
    await a.send('o3:payment#1', 'bank.settled', {});
    const error = await settled(clock, a.result('o3')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 'compensated', step: 'ship', report: { compensated: ['payment#1', 'reserve#1'], undone: [] } });
    const child = await a.get('o3:payment#1');
    expect(child?.status).toBe('compensated');
    expect((await a.store.get('o3:payment#1'))?.snapshot).toContain('PARENT_ROLLED_BACK');
    expect(log).toEqual([
      'reserve o3:reserve#1',
      'charge o3:payment#1:charge#1',
      'ship o3:ship#1',
      'void o3:payment#1:receipt#1:compensate',
      'refund o3:payment#1:charge#1:compensate',
      'release o3:reserve#1:compensate',
    ]);
    expect(a.errors).toEqual([]);
  });

  it('retries a store fault while the child starts or rolls back instead of failing the step: compensated once each, in reverse', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log, { failShip: true });
    // The connection drops twice under the child's insert and twice under the parent's request to roll it back.
    const faults = { insert: 2, compensate: 2 };
    const flaky = overriding(db.open(), (target) => ({
      insert: async (...args) => {
        if (args[0].id.includes(':payment#') && faults.insert-- > 0) throw connectionReset();
        return target.insert(...args);
      },
      sendEvent: async (...args) => {
        if (args[1] === 'compensate' && faults.compensate-- > 0) throw connectionReset();
        return target.sendEvent(...args);
      },
    }));
    const errors: unknown[] = [];
    const a = createRuntime({ sagas: [order], store: flaky, clock, workerId: 'A', leaseMs: 5_000, pollIntervalMs: 100, onError: (e) => errors.push(e) });
    runtimes.push(a);
    await a.start();
    await a.startSaga(order, { orderId: 'o9', amount: 10 }, { id: 'o9' });
    for (let i = 0; i < 500 && (await a.get('o9:payment#1'))?.status !== 'waiting'; i++) await clock.advance(20), await io();
    await a.send('o9:payment#1', 'bank.settled', {});
    const error = await settled(clock, a.result('o9')).catch((e: unknown) => e);
    // The payment step completed (its child started despite the faults); ship failed and everything was undone.
    expect(error).toMatchObject({ status: 'compensated', step: 'ship', report: { compensated: ['payment#1', 'reserve#1'], undone: [] } });
    expect((await a.get('o9:payment#1'))?.status).toBe('compensated');
    expect(faults).toEqual({ insert: -1, compensate: -1 });
    expect(log).toEqual([
      'reserve o9:reserve#1',
      'charge o9:payment#1:charge#1',
      'ship o9:ship#1',
      'void o9:payment#1:receipt#1:compensate',
      'refund o9:payment#1:charge#1:compensate',
      'release o9:reserve#1:compensate',
    ]);
    // Reported as the store being away (the child's write, and the request to roll it back), nothing else.
    expect(new Set(errors.map((e) => (e as { code?: string }).code))).toEqual(new Set(['STORE_UNAVAILABLE']));
    expect(errors.map(String).join('\n')).toMatch(/writing saga o9:payment#1[^]*rolling back child saga o9:payment#1/);
  });

  it('does not retry a child start after stop(): the retry that falls due then starts nothing', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log);
    const store = db.open();
    let childInserts = 0;
    const flaky = overriding(store, (target) => ({
      insert: async (...args) => {
        // The first try of the child's insert meets a dropped connection; a retry would get through.
        if (args[0].id.includes(':payment#') && childInserts++ === 0) throw connectionReset();
        return target.insert(...args);
      },
    }));
    const a = createRuntime({ sagas: [order], store: flaky, clock, workerId: 'A', leaseMs: 5_000, pollIntervalMs: 100, onError: () => {} });
    runtimes.push(a);
    await a.startSaga(order, { orderId: 'o12', amount: 10 }, { id: 'o12' });
    for (let i = 0; i < 500 && childInserts === 0; i++) await io();
    for (let i = 0; i < 5; i++) await io();
    await a.stop();
    // The retry's delay passes after the stop.
    for (let i = 0; i < 20; i++) await clock.advance(500), await io();
    expect(childInserts).toBe(1);
    expect(await store.get('o12:payment#1')).toBeUndefined();
    expect(log).toEqual(['reserve o12:reserve#1']);
  });

  it('a store fault met while stop() is under way does not fail the child step: the parent rolls nothing back', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log);
    const store = db.open();
    let childInserts = 0;
    // stop() is held at its first await (the wake-up subscription's end) until the test lets it go.
    let letStop: (() => void) | undefined;
    const stopHeld = new Promise<void>((resolve) => (letStop = resolve));
    const flaky = overriding(store, (target) => ({
      insert: async (...args) => {
        // The database is away for the child's insert, every time.
        if (args[0].id.includes(':payment#') && ++childInserts > 0) throw connectionReset();
        return target.insert(...args);
      },
      subscribe: async (...args: Parameters<NonNullable<SagaStore['subscribe']>>) => {
        const stop = target.subscribe ? await target.subscribe(...args) : async () => {};
        return async () => (await stopHeld, stop());
      },
    }));
    const a = createRuntime({ sagas: [order], store: flaky, clock, workerId: 'A', leaseMs: 5_000, pollIntervalMs: 100, onError: () => {} });
    runtimes.push(a);
    await a.startSaga(order, { orderId: 'o13', amount: 10 }, { id: 'o13' });
    for (let i = 0; i < 500 && childInserts === 0; i++) await io();
    const stopping = a.stop();
    // The retry falls due while stop() waits (the parent's execution still runs).
    for (let i = 0; i < 30; i++) await clock.advance(100), await io();
    letStop!();
    await stopping;
    // Nothing was rolled back: the reservation stands, for the worker that takes the order up again.
    expect(log).toEqual(['reserve o13:reserve#1']);
    expect((await store.history('o13')).map((e) => e.type)).not.toContain('step.failed');
    expect((await store.get('o13'))?.status).toBe('running');
  });

  it('cancels the running child when the parent is cancelled', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log);
    const a = await runtime(db, [order], clock, 'A');
    await startOrder(a, clock, order, 'o4');
    await a.cancel('o4');
    const error = await settled(clock, a.result('o4')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 'cancelled' });
    expect((await a.store.get('o4:payment#1'))?.status).toBe('cancelled');
    expect(log).toEqual(['reserve o4:reserve#1', 'charge o4:payment#1:charge#1', 'refund o4:payment#1:charge#1:compensate', 'release o4:reserve#1:compensate']);
    expect(a.errors).toEqual([]);
  });

  it('finishes parent and child on another runtime after the first stopped while the child ran', async () => {
    const db = database();
    if (!db.shared) return;
    const clock = createTestClock();
    const log: string[] = [];
    const { order } = sagas(log);
    const a = await runtime(db, [order], clock, 'A');
    await startOrder(a, clock, order, 'o5');
    await a.stop();
    const b = await runtime(db, [order], clock, 'B');
    await b.send('o5:payment#1', 'bank.settled', {});
    await expect(settled(clock, b.result('o5'))).resolves.toMatchObject({ ship: 'parcel for r-ch-o5' });
    expect(log).toEqual(['reserve o5:reserve#1', 'charge o5:payment#1:charge#1', 'ship o5:ship#1']);
    expect(b.errors).toEqual([]);
  });

  it('wakes the parent in one runtime when its child ends in another (separate store instances on one database)', async () => {
    const db = database();
    if (!db.shared) return;
    const clock = createTestClock();
    const log: string[] = [];
    const { order, payment } = sagas(log);
    const first = await runtime(db, [order], clock, 'A');
    await startOrder(first, clock, order, 'o6');
    // A can run payments too (a worker runs the children of its sagas), and on PostgreSQL it would hear of the
    // child's event as soon as B: it is away while B takes the child, so that the child's end is B's.
    await first.stop();
    // B runs payments only: it cannot claim the order, so only A can finish it.
    const b = await runtime(db, [payment], clock, 'B');
    await b.send('o6:payment#1', 'bank.settled', {});
    for (let i = 0; i < 500 && !(await b.history('o6:payment#1')).some((e) => e.type === 'saga.resumed'); i++) await io();
    // Back while the child runs in B (under B's lease) or has just ended there: B's end of the child wakes the parent here.
    const a = await runtime(db, [order], clock, 'A');
    await expect(settled(clock, a.result('o6'))).resolves.toMatchObject({ ship: 'parcel for r-ch-o6' });
    const childHistory = await b.history('o6:payment#1');
    expect(childHistory.find((e) => e.type === 'saga.resumed')?.data).toEqual({ worker: 'B' });
    const parentHistory = await a.history('o6');
    expect(parentHistory.filter((e) => e.type === 'saga.resumed').map((e) => e.data)).toContainEqual({ worker: 'A' });
    expect(parentHistory.some((e) => (e.data as { worker?: string } | null)?.worker === 'B')).toBe(false);
    expect(first.errors).toEqual([]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it('ends the parent failed when a completed child cannot roll back; retrying the parent retries the child\'s rollback', async () => {
    const db = database();
    const clock = createTestClock();
    const log: string[] = [];
    let refundWorks = false;
    const pay = saga('pay')
      .step('charge', () => 'ch-1', {
        compensate: ({ idempotencyKey }) => {
          log.push(`refund ${idempotencyKey} ${refundWorks ? 'ok' : 'down'}`);
          if (!refundWorks) throw new NonRetryableError('refunds are down');
        },
      })
      .build();
    const buy = saga('buy')
      .child('pay', pay, () => undefined)
      .step('ship', () => {
        throw new NonRetryableError('no courier');
      })
      .build();
    const a = await runtime(db, [buy], clock, 'A');
    await a.startSaga(buy, undefined, { id: 'b1' });
    const error = await settled(clock, a.result('b1')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 'failed', report: { undone: ['pay#1'] } });
    expect((await a.get('b1:pay#1'))?.status).toBe('failed');
    refundWorks = true;
    await a.retryCompensation('b1');
    // result() answers for a saga at rest: wait until the retry has taken it out of `failed`.
    for (let i = 0; i < 500 && (await a.get('b1'))?.status === 'failed'; i++) await clock.advance(20), await io();
    const retried = await settled(clock, a.result('b1')).catch((e: unknown) => e);
    expect(retried).toMatchObject({ status: 'compensated', report: { compensated: ['pay#1'], undone: [] } });
    expect((await a.get('b1:pay#1'))?.status).toBe('compensated');
    expect(log).toEqual(['refund b1:pay#1:charge#1:compensate down', 'refund b1:pay#1:charge#1:compensate ok']);
  });
});
